-- One row per (recorded crime, suspect) of individuals.
select s.crime_id, s.person_id, s.role, c.recorded_date
from suspects as s
inner join analysis_crimes as c on s.crime_id = c.crime_id
inner join persons as p on s.person_id = p.person_id
where p.person_type = 'individual'
order by c.recorded_date, s.crime_id, s.person_id
