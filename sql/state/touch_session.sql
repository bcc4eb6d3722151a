update sessions set last_seen = $at where token_hash = $token_hash
