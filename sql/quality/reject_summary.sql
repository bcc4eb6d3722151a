-- Rejected rows by table, column and reason (the reason without its bracketed detail),
-- most first.
select table_name, coalesce(column_name, ''),
       regexp_replace(reason, ' \(.*\)$', '') as reason, count(*)
from rejects group by all order by 4 desc, 1, 2, 3
