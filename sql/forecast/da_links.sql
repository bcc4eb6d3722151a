-- Each counted recorded DA crime's (suspect, individual victim) pairs.
select distinct s.person_id as offender_id, v.person_id as victim_id, c.crime_id,
       c.recorded_date
from suspects as s
inner join crimes as c on s.crime_id = c.crime_id
inner join victims as v on v.crime_id = c.crime_id and v.person_id <> s.person_id
inner join persons as pv on v.person_id = pv.person_id
where c.status = 'recorded' and c.counted and c.domestic_abuse
      and pv.person_type = 'individual'
order by c.recorded_date, c.crime_id, offender_id, victim_id
