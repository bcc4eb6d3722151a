update sessions set ended_at = $at where token_hash = $token_hash
