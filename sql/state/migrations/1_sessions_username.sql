create index sessions_username on sessions (username)
