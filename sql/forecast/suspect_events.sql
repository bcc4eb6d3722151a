-- Each counted recorded crime an individual is a suspect of.
select distinct s.person_id, c.crime_id, c.recorded_date
from suspects as s
inner join crimes as c on s.crime_id = c.crime_id
inner join persons as p on s.person_id = p.person_id
where c.status = 'recorded' and c.counted and p.person_type = 'individual'
order by c.recorded_date, c.crime_id, s.person_id
