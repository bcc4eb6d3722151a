-- Per victim person and calendar month: counted harm, victimisations, DA victimisations, the
-- latest recorded date, and the neighbourhood of the latest victimisation with a mapped LSOA
-- (ties: the larger crime_id).
select
    person_id,
    cast(date_trunc('month', recorded_date) as date) as month_start,
    sum(weight) as harm,
    count(*) as crimes,
    count(*) filter (where domestic_abuse) as da_crimes,
    max(recorded_date) as last_recorded_date,
    arg_max(
        crime_neighbourhood_code, (recorded_date, crime_id)
    ) filter (where crime_neighbourhood_code is not null) as place_neighbourhood
from victimisations
where counted
group by person_id, month_start
