-- DA dyads for every month in list_months: every (offender, victim) pair sharing a recorded,
-- counted DA crime in the window, with harm and count over the window, the first incident
-- ever recorded for the pair and the latest, the relationship and DASH grade of the latest.
-- Neighbourhood: the victim's (home, else the latest DA crime's mapped LSOA, else 'unknown').
-- Reasons: high_harm (harm >= $min_harm), repeat (two or more shared DA crimes in the window),
-- serial_da (the offender has two or more DA victims in the 36 months ending with M),
-- high_risk (latest DASH grade high).
-- Order: harm desc, crimes desc, latest desc, offender_id, victim_id.
with windowed as (
    select
        m.month,
        d.offender_id,
        d.victim_id,
        coalesce(sum(d.weight), 0) as harm,
        count(*) as crimes,
        max(d.recorded_date) as last_recorded_date,
        arg_max(d.da_relationship, strftime(d.recorded_date, '%Y-%m-%d') || '|' || d.crime_id)
            as relationship,
        arg_max(d.dash_risk, strftime(d.recorded_date, '%Y-%m-%d') || '|' || d.crime_id)
            as latest_dash_risk,
        arg_max(
            d.crime_neighbourhood_code,
            strftime(d.recorded_date, '%Y-%m-%d') || '|' || d.crime_id
        ) filter (where d.crime_neighbourhood_code is not null) as place_neighbourhood
    from list_months as m
    inner join da_links as d on d.month_start between m.window_start and m.month_start
    where d.counted
    group by m.month, d.offender_id, d.victim_id
),

firsts as (
    select offender_id, victim_id, min(recorded_date) as first_recorded_date
    from da_links where counted
    group by offender_id, victim_id
),

listed as (
    select
        w.*,
        m.in_range,
        m.previous_month,
        f.first_recorded_date,
        coalesce(s.da_victims_36m, 0) >= 2 as serial_da,
        coalesce(home.neighbourhood_code, w.place_neighbourhood, 'unknown') as neighbourhood_code
    from windowed as w
    inner join list_months as m on w.month = m.month
    inner join firsts as f on w.offender_id = f.offender_id and w.victim_id = f.victim_id
    inner join persons as p on w.victim_id = p.person_id
    left join da_serial as s on w.month = s.month and w.offender_id = s.offender_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
)

select
    l.month,
    l.offender_id,
    l.victim_id,
    l.neighbourhood_code,
    cast(l.harm as decimal(18, 2)) as harm_days,
    cast(l.crimes as integer) as crimes,
    l.first_recorded_date,
    l.last_recorded_date,
    l.relationship,
    l.latest_dash_risk,
    cast(row_number() over (
        partition by l.month
        order by l.harm desc, l.crimes desc, l.last_recorded_date desc,
            l.offender_id asc, l.victim_id asc
    ) as integer) as rank,
    cast(row_number() over (
        partition by l.month, l.neighbourhood_code
        order by l.harm desc, l.crimes desc, l.last_recorded_date desc,
            l.offender_id asc, l.victim_id asc
    ) as integer) as neighbourhood_rank,
    case
        when exists (
            select 1 from listed as prev
            where
                prev.month = l.previous_month
                and prev.offender_id = l.offender_id
                and prev.victim_id = l.victim_id
        ) then 'continuing'
        else 'new'
    end as status,
    list_filter(
        [
            case when l.harm >= $min_harm then 'high_harm' end,
            case when l.crimes >= 2 then 'repeat' end,
            case when l.serial_da then 'serial_da' end,
            case when l.latest_dash_risk = 'high' then 'high_risk' end
        ],
        lambda x: x is not null
    ) as reasons,
    l.in_range
from listed as l
order by l.month, rank
