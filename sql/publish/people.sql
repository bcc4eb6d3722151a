-- Display details of everyone on a list (the only personal details a run keeps): the run's
-- people.parquet. PII: name, sex, birth_date, ethnicity, deceased_date.
with listed as (
    select person_id from victim_list_all
    union select person_id from offender_list_all
    union select offender_id from dyads_all
    union select victim_id from dyads_all
)
select p.person_id, p.person_type, p.name, p.sex, p.birth_date, p.ethnicity,
       l.neighbourhood_code as home_neighbourhood_code, p.deceased_date
from persons as p
inner join listed using (person_id)
left join ref_lsoa as l on p.home_lsoa_code = l.lsoa_code
order by p.person_id
