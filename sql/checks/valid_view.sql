-- The checked rows, when none was rejected (a view: valid_<table>).
select {columns}, _file, _row from {checked}
