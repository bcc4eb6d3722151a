-- The accepted rows of a checked table, in file and row order as read.
select {columns}, _file, _row from {checked} s
where s._fails is null and not exists (
    select 1 from rejects r
    where r.table_name = $table_name and r.file = s._file and r.row = s._row
)
