-- raw_<table> of a table without files: its contract columns ({columns}), as text, and no rows.
select {columns}, cast(null as varchar) as _file, cast(null as bigint) as _row where false
