-- As checks/key_duplicates.sql, the repeated keys taken from the key table ({counted}, from
-- checks/keys.sql) rather than counted again.
insert into rejects (table_name, key, column_name, reason, value, file, row)
with ok as (
    select s.* from {checked} as s
    where s._fails is null and not exists (
        select 1 from rejects r
        where r.table_name = $table_name and r.file = s._file and r.row = s._row
    )
),
repeated as (select k as {keys} from {counted} where n_ok > 1),
copies as (
    select ok.*,
           row_number() over (partition by {keys} order by _file, _row) as copy,
           first_value(_file) over (partition by {keys} order by _file, _row) as f0,
           first_value(_row) over (partition by {keys} order by _file, _row) as r0
    from ok inner join repeated using ({keys})
)
select $table_name, {key}, $key_columns,
       'duplicate key (first copy kept: ' || f0 || ' row ' || r0 || ')',
       {key}, _file, _row
from copies where copy > 1
