select password_hash from users where username = $username
