-- One row per (offender, victim, DA crime) between two different individuals, as the dyads
-- are built from, with the offender's sex and age band at the time of the crime.
select s.person_id as offender_id, v.person_id as victim_id, c.crime_id,
       c.recorded_date, c.weight, c.counted, c.da_relationship, v.dash_risk,
       c.neighbourhood_code, c.area,
       coalesce(op.sex, 'unknown') as offender_sex,
       age_band(op.birth_date, c.recorded_date) as offender_age_band
from analysis_crimes as c
inner join suspects as s on c.crime_id = s.crime_id
inner join victims as v on c.crime_id = v.crime_id
inner join persons as op on s.person_id = op.person_id
inner join persons as vp on v.person_id = vp.person_id
where c.domestic_abuse and s.person_id <> v.person_id
    and op.person_type = 'individual' and vp.person_type = 'individual'
order by c.recorded_date, c.crime_id, s.person_id, v.person_id
