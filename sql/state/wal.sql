pragma journal_mode = wal
