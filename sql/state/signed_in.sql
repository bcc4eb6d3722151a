-- A correct password: the account's failures cleared, its hash renewed when $new_hash.
update users set failed_attempts = 0, locked_until = null,
    password_hash = coalesce($new_hash, password_hash)
where username = $username
