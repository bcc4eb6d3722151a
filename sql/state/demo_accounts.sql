select username from users where demo order by username
