-- Distinct victims of each offender's crimes in the W-month window ($window_months), as
-- change points: one row per (offender, change month) with the change in the count (a
-- running sum of delta gives the count from that month on). A victim counts
-- in month M while some crime of the pair (offender_crimes, the victim not the offender
-- themself) was recorded in the W months ending with M: the union of [month, month + W)
-- over the pair's months (see da_serial.sql for the same rule over 36 months).
with pair_months as (
    select distinct oc.person_id, v.person_id as victim_id, oc.month_start
    from offender_crimes as oc
    inner join victims as v on oc.crime_id = v.crime_id and v.person_id <> oc.person_id
),

edges as (
    select
        person_id,
        month_start,
        cast(month_start + to_months(cast($window_months as integer)) as date) as leaves,
        lag(month_start) over pair as previous_month,
        lead(month_start) over pair as next_month
    from pair_months
    window pair as (partition by person_id, victim_id order by month_start)
)

select person_id, event_month, sum(delta) as delta
from (
    select person_id, month_start as event_month, 1 as delta
    from edges
    where
        previous_month is null
        or month_start >= previous_month + to_months(cast($window_months as integer))
    union all
    select person_id, leaves, -1
    from edges
    where next_month is null or next_month >= leaves
)
group by person_id, event_month
