delete from users where username = $username
