select username, last_seen, expires_at, ended_at from sessions where token_hash = $token_hash
