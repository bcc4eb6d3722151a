-- The rows validation rejected, with their reason: the run's rejects.parquet.
select table_name as "table", key, column_name as "column", reason, value, file, row
from rejects
order by table_name, file, row, column_name, reason
