-- End every session of $username (a removed account, a new password).
update sessions set ended_at = coalesce(ended_at, $at) where username = $username
