-- DA dyads for every month in list_months: every (offender, victim) pair sharing a recorded,
-- counted DA crime in the window, with harm and count over the window, the first incident
-- ever recorded for the pair and the latest, the relationship and DASH grade of the latest.
-- Neighbourhood: the victim's (home, else the latest DA crime's mapped LSOA, else 'unknown').
-- Reasons: high_harm (harm >= $min_harm), repeat (two or more shared DA crimes in the window),
-- serial_da (the offender has two or more DA victims in the 36 months ending with M),
-- high_risk (latest DASH grade high).
-- Order: harm desc, crimes desc, latest desc, offender_id, victim_id.
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

-- Every (offender, victim) pair sharing a counted DA crime in each month's window, by change
-- points (see victim_list.sql); the latest relationship, DASH grade and mapped place are the
-- latest non-null ones still in the window.
windowed as (
    select
        m.month,
        m.month_start,
        s.offender_id,
        s.victim_id,
        cast(s.harm as decimal(18, 2)) as harm,
        cast(s.crimes as integer) as crimes,
        s.last_recorded_date,
        case when s.relationship_month >= s.window_start then s.relationship end
            as relationship,
        case when s.dash_month >= s.window_start then s.latest_dash_risk end
            as latest_dash_risk,
        case when s.place_month >= s.window_start then s.place_neighbourhood end
            as place_neighbourhood
    from segments as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
    where s.crimes > 0
),

firsts as (
    select offender_id, victim_id, min(recorded_date) as first_recorded_date
    from da_links where counted
    group by offender_id, victim_id
),

-- Months in which the offender has two or more DA victims in the 36 months ending with them.
serial as (
    select m.month, s.offender_id
    from da_serial as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
    where s.da_victims_36m >= 2
),

listed as (
    select
        w.*,
        m.in_range,
        m.previous_month,
        f.first_recorded_date,
        s.offender_id is not null as serial_da,
        coalesce(home.neighbourhood_code, w.place_neighbourhood, 'unknown') as neighbourhood_code
    from windowed as w
    inner join list_months as m on w.month = m.month
    inner join firsts as f on w.offender_id = f.offender_id and w.victim_id = f.victim_id
    inner join persons as p on w.victim_id = p.person_id
    left join serial as s on w.month = s.month and w.offender_id = s.offender_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
),

-- The order of the list (rank); the neighbourhood rank follows it within each neighbourhood.
ranked as (
    select l.*,
           list_rank(l.month, l.harm, l.crimes, l.last_recorded_date,
                     {'offender_id': l.offender_id, 'victim_id': l.victim_id}) as rank
    from listed as l
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
    cast(l.rank as integer) as rank,
    neighbourhood_rank(l.month, l.neighbourhood_code, l.rank) as neighbourhood_rank,
    list_status({'offender_id': l.offender_id, 'victim_id': l.victim_id}, l.month,
                l.previous_month) as status,
    reasons_of(
        ['high_harm', 'repeat', 'serial_da', 'high_risk'],
        [l.harm >= $min_harm, l.crimes >= 2, l.serial_da, l.latest_dash_risk = 'high']
    ) as reasons,
    l.in_range
from ranked as l
order by l.month, rank
