insert into sessions (token_hash, username, created_at, last_seen, expires_at)
values ($token_hash, $username, $at, $at, $expires_at)
