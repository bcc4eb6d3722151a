-- The offending rows of one sql/checks query ({check}) into rejects; the query reads
-- src_<table>, here the checked rows.
insert into rejects (table_name, key, column_name, reason, value, file, row)
with {source} as (select * exclude (_fails) from {checked})
{check}
