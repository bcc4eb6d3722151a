-- Every value of a column ({column}) of a checked table, whether an accepted row has it and
-- n_ok, how many rows not rejected (yet) hold it.
select s.{column} as k, bool_or(r.row is null) as accepted,
       count(*) filter (where r.row is null) as n_ok
from {checked} as s
left join (select distinct file, row from rejects
           where table_name = $table_name) as r
    on r.file = s._file and r.row = s._row
where s.{column} is not null
group by s.{column}
