-- The checked rows' failures into rejects, one row each.
insert into rejects (table_name, key, column_name, reason, value, file, row)
select $table_name, {key}, nullif(f.column_name, ''), f.reason, f.value, _file, _row
from (select *, unnest(_fails) as f from {checked} where _fails is not null)
