-- Every individual with the features the forecast and its fairness audit read.
-- PII: sex, birth_date, ethnicity, deceased_date.
select p.person_id, p.sex, p.birth_date, p.ethnicity,
       l.neighbourhood_code as home_neighbourhood, p.deceased_date
from persons as p
left join ref_lsoa as l on p.home_lsoa_code = l.lsoa_code
where p.person_type = 'individual'
order by p.person_id
