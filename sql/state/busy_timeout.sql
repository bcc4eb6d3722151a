pragma busy_timeout = 30000
