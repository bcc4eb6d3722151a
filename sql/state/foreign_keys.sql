pragma foreign_keys = on
