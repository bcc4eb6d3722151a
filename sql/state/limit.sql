select failures, locked_until from sign_in_limits where key = $key
