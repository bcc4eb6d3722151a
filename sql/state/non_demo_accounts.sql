select username from users where not demo order by username
