-- The two looked-up columns of the run's victimisations.parquet, one row per victimisation in
-- its stored order (rowid): the offence title of its weight set and whether the crime has a
-- suspect. Only these narrow rows are sorted, not the wide ones (publish/victimisations.sql).
select w.title as offence_title,
       exists (select 1 from suspects as s where s.crime_id = v.crime_id) as has_suspect
from victimisations as v
left join ref_weights as w on v.offence_code = w.offence_key
order by v.rowid
