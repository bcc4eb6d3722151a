-- One row per victimisation: a (crime, victim person) pair whose crime is recorded.
-- A crime with three victims is three victimisations, each with the crime's full weight.
-- The historic-offence rule flags crimes that occurred more than $historic_months months
-- before they were recorded (null = no rule); `counted` says whether a victimisation counts
-- towards harm and crimes under the policy ($historic_counted).
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
    c.domestic_abuse,
    c.da_relationship,
    c.lsoa_code,
    l.neighbourhood_code as crime_neighbourhood_code,
    v.dash_risk,
    coalesce(
        cast($historic_months as integer) is not null
        and c.occurred_date
        < c.recorded_date - to_months(cast($historic_months as integer)),
        false
    ) as historic,
    not (historic and not $historic_counted) as counted
from victims as v
inner join crimes as c on v.crime_id = c.crime_id
inner join persons as p on v.person_id = p.person_id
left join ref_lsoa as l on c.lsoa_code = l.lsoa_code
where c.status = 'recorded'
order by c.recorded_date, c.crime_id, v.person_id
