-- The victim list for every month in list_months (contract §3).
-- Window: the W calendar months ending with the list month (list_months.window_start..month_end),
-- W = $window_months, the window_months the list_months table was built with.
-- Eligible: individuals not deceased on or before the last day of the month.
-- Listed: harm >= $min_harm or crimes >= $min_crimes.
-- Neighbourhood: of home_lsoa_code when known and mapped; else of the latest victimisation in
-- the window with a mapped LSOA (ties: the larger crime_id); else 'unknown'.
-- Order: harm desc, crimes desc, latest recorded_date desc, person_id asc.
-- also_suspect: recorded as suspect, offender or charged on a recorded crime in the window.
--
-- Windows by change points, so cost is linear in months: each person-month adds its values at
-- its own month and removes them W months later; a running sum over a person's change months
-- gives the window ending at every month, constant from one change month to the next (a
-- segment). Only segments over a threshold are expanded to the list months they cover.
-- The latest mapped place is the latest person-month's, while that month is still in the
-- window (it cannot leave inside a segment: its leaving is itself a change month).
-- A person whose harm (positive part) and crimes over all months are both below the thresholds
-- cannot reach either in any window, so is left out before the windows are computed.
with candidates as (
    select person_id
    from person_months
    group by person_id
    having
        sum(greatest(coalesce(harm, 0), 0)) >= $min_harm
        or sum(crimes) >= $min_crimes
),

pm as (
    select * from person_months
    where person_id in (select c.person_id from candidates as c)
),

changes as (
    select
        person_id,
        event_month,
        sum(harm) as harm,
        sum(crimes) as crimes,
        sum(da_crimes) as da_crimes,
        max(last_recorded_date) as last_recorded_date,
        max(place_neighbourhood) as place_neighbourhood,
        max(place_month) as place_month
    from (
        select
            person_id,
            month_start as event_month,
            harm,
            crimes,
            da_crimes,
            last_recorded_date,
            place_neighbourhood,
            case when place_neighbourhood is not null then month_start end as place_month
        from pm
        union all
        select
            person_id,
            cast(month_start + to_months(cast($window_months as integer)) as date),
            -harm,
            -crimes,
            -da_crimes,
            null,
            null,
            null
        from pm
    )
    group by person_id, event_month
),

segments as (
    select
        person_id,
        event_month,
        lead(event_month) over (partition by person_id order by event_month) as next_month,
        coalesce(sum(harm) over running, 0) as harm,
        sum(crimes) over running as crimes,
        sum(da_crimes) over running as da_crimes,
        max(last_recorded_date) over running as last_recorded_date,
        last_value(place_neighbourhood ignore nulls) over running as place_neighbourhood,
        last_value(place_month ignore nulls) over running as place_month
    from changes
    window running as (
        partition by person_id order by event_month
        rows between unbounded preceding and current row
    )
),

windowed as (
    select
        m.month,
        s.person_id,
        cast(s.harm as decimal(18, 2)) as harm,
        cast(s.crimes as integer) as crimes,
        cast(s.da_crimes as integer) as da_crimes,
        s.last_recorded_date,
        case
            when s.place_month
                >= s.event_month - to_months(cast($window_months as integer) - 1)
                then s.place_neighbourhood
        end as place_neighbourhood
    from segments as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
    where s.crimes > 0 and (s.harm >= $min_harm or s.crimes >= $min_crimes)
),

listed as (
    select
        w.*,
        m.in_range,
        m.previous_month,
        m.month_end,
        coalesce(home.neighbourhood_code, w.place_neighbourhood, 'unknown') as neighbourhood_code,
        p.birth_date is not null
        and p.birth_date + to_years(18) > m.month_end as child,
        exists (
            select 1
            from suspects as s
            inner join crimes as c on s.crime_id = c.crime_id
            where
                s.person_id = w.person_id
                and c.status = 'recorded'
                and c.recorded_date between m.window_start and m.month_end
        ) as also_suspect
    from windowed as w
    inner join list_months as m on w.month = m.month
    inner join persons as p on w.person_id = p.person_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where
        p.person_type = 'individual'
        and (p.deceased_date is null or p.deceased_date > m.month_end)
),

-- The order of the list (rank); the neighbourhood rank follows it within each neighbourhood.
ranked as (
    select l.*, list_rank(l.month, l.harm, l.crimes, l.last_recorded_date, l.person_id) as rank
    from listed as l
)

select
    l.month,
    l.person_id,
    l.neighbourhood_code,
    cast(l.harm as decimal(18, 2)) as harm_days,
    cast(l.crimes as integer) as crimes,
    cast(l.da_crimes as integer) as da_crimes,
    l.last_recorded_date,
    cast(l.rank as integer) as rank,
    neighbourhood_rank(l.month, l.neighbourhood_code, l.rank) as neighbourhood_rank,
    list_status(l.person_id, l.month, l.previous_month) as status,
    reasons_of(
        ['high_harm', 'repeat', 'domestic_abuse', 'child', 'also_suspect'],
        [l.harm >= $min_harm, l.crimes >= $min_crimes, l.da_crimes > 0, l.child, l.also_suspect]
    ) as reasons,
    l.in_range
from ranked as l
order by l.month, rank
