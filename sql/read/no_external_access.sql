-- No other file, extension or network from now on.
set enable_external_access = false
