-- No query may change the settings above.
set lock_configuration = true
