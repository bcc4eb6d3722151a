-- Rows read, accepted and rejected (distinct rows) of one table.
select (select count(*) from {checked}),
       (select count(*) from {valid}),
       (select count(*) from (select distinct file, row from rejects
                              where table_name = $table_name))
