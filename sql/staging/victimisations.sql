-- One row per victimisation: a (crime, victim person) pair whose crime is recorded.
-- A crime with three victims is three victimisations, each with the crime's full weight.
-- `historic` and `counted` come from the crime (see staging/crimes.sql).
select
    c.crime_id,
    v.person_id,
    p.person_type,
    c.recorded_date,
    c.occurred_date,
    c.month,
    c.offence_code,
    c.ho_class,
    c.weight,
    c.basis,
    c.weight_rule,
    c.domestic_abuse,
    c.da_relationship,
    c.lsoa_code,
    l.neighbourhood_code as crime_neighbourhood_code,
    v.dash_risk,
    c.historic,
    c.counted
from victims as v
inner join crimes as c on v.crime_id = c.crime_id
inner join persons as p on v.person_id = p.person_id
left join ref_lsoa as l on c.lsoa_code = l.lsoa_code
where c.status = 'recorded'
order by c.recorded_date, c.crime_id, v.person_id
