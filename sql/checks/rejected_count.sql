-- How many failures a table has.
select count(*) from rejects where table_name = $table_name
