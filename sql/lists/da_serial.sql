-- Distinct DA victims of each offender over the 36 calendar months ending with a month: the
-- serial-DA flag (two or more) of the offender list and of the dyads, as change points.
-- One row per (offender, change month): the change (delta) and the count that holds from that
-- month until the offender's next change month (next_month).
-- A victim counts in month M while some counted DA crime of the pair was recorded in the 36
-- months ending with M: the union of [month, month + 36) over the pair's months, which starts
-- at a month more than 35 months after the pair's previous one and ends 36 months after a
-- month that has no next one within 36 months.
with pair_months as (
    select distinct offender_id, victim_id, month_start
    from da_links
    where counted
),

edges as (
    select
        offender_id,
        month_start,
        cast(month_start + to_months(36) as date) as leaves,
        lag(month_start) over pair as previous_month,
        lead(month_start) over pair as next_month
    from pair_months
    window pair as (partition by offender_id, victim_id order by month_start)
),

changes as (
    select offender_id, event_month, sum(delta) as delta
    from (
        select offender_id, month_start as event_month, 1 as delta
        from edges
        where previous_month is null or month_start >= previous_month + to_months(36)
        union all
        select offender_id, leaves, -1
        from edges
        where next_month is null or next_month >= leaves
    )
    group by offender_id, event_month
)

select
    offender_id,
    event_month,
    delta,
    sum(delta) over (
        partition by offender_id order by event_month
        rows between unbounded preceding and current row
    ) as da_victims_36m,
    lead(event_month) over (partition by offender_id order by event_month) as next_month
from changes
