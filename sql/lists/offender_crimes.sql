-- One row per (person, recorded crime) where the person is a suspect, offender or charged
-- (any role; the strongest role is kept), with the crime's weight, DA flag and place, and
-- the strongest role held (3 charged, 2 offender, 1 suspect). The roles are grouped on their
-- two keys before the crimes are joined (a crime_id and a person_id are each one row).
with roles as (
    select
        person_id,
        crime_id,
        max(case role when 'charged' then 3 when 'offender' then 2 else 1 end) as role_rank
    from suspects
    group by person_id, crime_id
)

select
    s.person_id,
    c.crime_id,
    c.recorded_date,
    cast(date_trunc('month', c.recorded_date) as date) as month_start,
    c.weight,
    c.domestic_abuse,
    l.neighbourhood_code as crime_neighbourhood_code,
    s.role_rank
from roles as s
inner join crimes as c on s.crime_id = c.crime_id
inner join persons as p on s.person_id = p.person_id
left join ref_lsoa as l on c.lsoa_code = l.lsoa_code
where c.status = 'recorded' and c.counted and p.person_type = 'individual'
