-- Every (offender, victim, DA crime) link: the basis of dyads and the serial-DA flag.
-- A dyad is an (offender person, victim person) pair sharing a recorded DA crime.
select
    s.person_id as offender_id,
    v.person_id as victim_id,
    c.crime_id,
    c.recorded_date,
    cast(date_trunc('month', c.recorded_date) as date) as month_start,
    c.weight,
    c.da_relationship,
    v.dash_risk,
    c.counted,
    l.neighbourhood_code as crime_neighbourhood_code
from crimes as c
inner join suspects as s on c.crime_id = s.crime_id
inner join victims as v on c.crime_id = v.crime_id
inner join persons as op on s.person_id = op.person_id
inner join persons as vp on v.person_id = vp.person_id
left join ref_lsoa as l on c.lsoa_code = l.lsoa_code
where
    c.status = 'recorded'
    and c.domestic_abuse
    and s.person_id <> v.person_id
    and op.person_type = 'individual'
    and vp.person_type = 'individual'
