-- DA dyads for every month in list_months: every (offender, victim) pair sharing a recorded,
-- counted DA crime in the window, with harm and count over the window, the first incident
-- ever recorded for the pair and the latest, the relationship and DASH grade of the latest.
-- Neighbourhood: the victim's (home, else the latest DA crime's mapped LSOA, else 'unknown').
-- Reasons: high_harm (harm >= $min_harm), repeat (two or more shared DA crimes in the window),
-- serial_da (the offender has two or more DA victims in the 36 months ending with M),
-- high_risk (latest DASH grade high).
-- Order: harm desc, crimes desc, latest desc, offender_id, victim_id.
--
-- Windows by change points (see victim_list.sql), ranked once per month over narrow rows.
with pair_months as (
    select
        offender_id,
        victim_id,
        month_start,
        sum(weight) as harm,
        count(*) as crimes,
        max(recorded_date) as last_recorded_date,
        arg_max(da_relationship, (recorded_date, crime_id))
            as relationship,
        arg_max(dash_risk, (recorded_date, crime_id))
            as latest_dash_risk,
        arg_max(
            crime_neighbourhood_code,
            (recorded_date, crime_id)
        ) filter (where crime_neighbourhood_code is not null) as place_neighbourhood
    from da_links
    where counted
    group by offender_id, victim_id, month_start
),

changes as (
    select
        offender_id,
        victim_id,
        event_month,
        sum(harm) as harm,
        sum(crimes) as crimes,
        max(last_recorded_date) as last_recorded_date,
        max(relationship) as relationship,
        max(relationship_month) as relationship_month,
        max(latest_dash_risk) as latest_dash_risk,
        max(dash_month) as dash_month,
        max(place_neighbourhood) as place_neighbourhood,
        max(place_month) as place_month
    from (
        select
            offender_id,
            victim_id,
            month_start as event_month,
            harm,
            crimes,
            last_recorded_date,
            relationship,
            case when relationship is not null then month_start end as relationship_month,
            latest_dash_risk,
            case when latest_dash_risk is not null then month_start end as dash_month,
            place_neighbourhood,
            case when place_neighbourhood is not null then month_start end as place_month
        from pair_months
        union all
        select
            offender_id,
            victim_id,
            cast(month_start + to_months(cast($window_months as integer)) as date),
            -harm,
            -crimes,
            null,
            null,
            null,
            null,
            null,
            null,
            null
        from pair_months
    )
    group by offender_id, victim_id, event_month
),

segments as (
    select
        offender_id,
        victim_id,
        event_month,
        cast(event_month - to_months(cast($window_months as integer) - 1) as date)
            as window_start,
        lead(event_month) over (
            partition by offender_id, victim_id order by event_month
        ) as next_month,
        coalesce(sum(harm) over running, 0) as harm,
        sum(crimes) over running as crimes,
        sum(crimes) over running - crimes as crimes_before,
        max(last_recorded_date) over running as last_recorded_date,
        last_value(relationship ignore nulls) over running as relationship,
        last_value(relationship_month ignore nulls) over running as relationship_month,
        last_value(latest_dash_risk ignore nulls) over running as latest_dash_risk,
        last_value(dash_month ignore nulls) over running as dash_month,
        last_value(place_neighbourhood ignore nulls) over running as place_neighbourhood,
        last_value(place_month ignore nulls) over running as place_month
    from changes
    window running as (
        partition by offender_id, victim_id order by event_month
        rows between unbounded preceding and current row
    )
),

-- Each pair's first counted DA crime ever recorded.
pairs as (
    select
        offender_id,
        victim_id,
        min(recorded_date) as first_recorded_date
    from da_links where counted
    group by offender_id, victim_id
),

-- The segments in which the pair shares a counted DA crime in the window, with everything that
-- is constant over a segment, numbered in list order (seg_order, see victim_list.sql).
live as (
    select
        s.offender_id,
        s.victim_id,
        s.event_month,
        s.next_month,
        s.crimes_before,
        cast(s.harm as decimal(18, 2)) as harm,
        cast(s.crimes as integer) as crimes,
        f.first_recorded_date,
        s.last_recorded_date,
        case when s.relationship_month >= s.window_start then s.relationship end
            as relationship,
        case when s.dash_month >= s.window_start then s.latest_dash_risk end
            as latest_dash_risk,
        coalesce(
            home.neighbourhood_code,
            case when s.place_month >= s.window_start then s.place_neighbourhood end,
            'unknown'
        ) as neighbourhood_code,
        row_number() over (
            order by
                s.harm desc, s.crimes desc, s.last_recorded_date desc, s.offender_id asc,
                s.victim_id asc, s.event_month asc
        ) as seg_order
    from segments as s
    inner join pairs as f on s.offender_id = f.offender_id and s.victim_id = f.victim_id
    inner join persons as p on s.victim_id = p.person_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where s.crimes > 0
),

-- Months in which the offender (person_id) has two or more DA victims in the 36 months ending
-- with them.
serial as (
    select m.month_start, s.offender_id as person_id
    from da_serial as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
    where s.da_victims_36m >= 2
),

-- Each listed (pair, month) as narrow rows: the rank and the neighbourhood rank, the status
-- (crimes_before > 0 when the previous segment was listed) and serial_da (rank_macro.sql).
-- A pair's segments are not ended by a death: the macro's person is the offender.
segs as (
    select seg_order, offender_id as person_id, event_month, next_month, neighbourhood_code,
        crimes_before > 0 as listed_before, cast(null as date) as end_date
    from live
),

ranked as (
    select * rename (flagged as serial_da) from ranked_months('segs', 'serial')
)

select
    m.month,
    l.offender_id,
    l.victim_id,
    l.neighbourhood_code,
    l.harm as harm_days,
    l.crimes,
    l.first_recorded_date,
    l.last_recorded_date,
    l.relationship,
    l.latest_dash_risk,
    cast(r.rank as integer) as rank,
    cast(r.neighbourhood_rank as integer) as neighbourhood_rank,
    case when r.continuing then 'continuing' else 'new' end as status,
    reasons_of(
        ['high_harm', 'repeat', 'serial_da', 'high_risk'],
        [
            l.harm >= $min_harm,
            l.crimes >= 2,
            r.serial_da,
            coalesce(l.latest_dash_risk = 'high', false)
        ]
    ) as reasons,
    m.in_range
from ranked as r
inner join live as l on r.seg_order = l.seg_order
inner join list_months as m on r.month_start = m.month_start
order by r.month_start, r.rank
