update sessions set ended_at = coalesce(ended_at, $at) where token_hash = $token_hash
