-- The victim list for every month in list_months (contract §3).
-- Window: the W calendar months ending with the list month (list_months.window_start..month_end),
-- W = $window_months, the window_months the list_months table was built with.
-- Eligible: individuals not deceased on or before the last day of the month.
-- Listed: harm >= $min_harm or crimes >= $min_crimes.
-- Neighbourhood: of home_lsoa_code when known and mapped; else of the latest victimisation in
-- the window with a mapped LSOA (ties: the larger crime_id); else 'unknown'.
-- Order: harm desc, crimes desc, latest recorded_date desc, person_id asc.
-- also_suspect: recorded as suspect, offender or charged on a recorded crime in the window.
-- Status: 'continuing' when listed in the month before (which list_months holds), else 'new'.
--
-- Windows by change points, so cost is linear in months: each person-month adds its values at
-- its own month and removes them W months later; a running sum over a person's change months
-- gives the window ending at every month, constant from one change month to the next (a
-- segment). Only segments over a threshold are expanded to the list months they cover.
-- The latest mapped place is the latest person-month's, while that month is still in the
-- window (it cannot leave inside a segment: its leaving is itself a change month).
-- A person whose harm (positive part) and crimes over all months are both below the thresholds
-- cannot reach either in any window, so is left out before the windows are computed.
--
-- One sort per list month instead of one per ordering of the wide rows: everything constant
-- over a segment (values, neighbourhood, the order) is computed once per segment; seg_order
-- numbers the listed segments in list order (two segments of one person never share a month,
-- so within a month it orders exactly as harm, crimes, latest date, person_id). Rank and
-- neighbourhood rank are windows over narrow rows (month, seg_order, neighbourhood), joined to
-- the segment's values once. The status needs no window: the month before is in the same
-- segment unless the row's month is the segment's first, and then it is in the person's
-- previous segment, whose values are the running sums less this change (listed_before).
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
        coalesce(sum(harm) over running, 0) - coalesce(harm, 0) as harm_before,
        sum(crimes) over running - crimes as crimes_before,
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

live as (
    select
        s.person_id,
        s.event_month,
        s.next_month,
        s.crimes_before > 0
        and (s.harm_before >= $min_harm or s.crimes_before >= $min_crimes) as listed_before,
        cast(s.harm as decimal(18, 2)) as harm,
        cast(s.crimes as integer) as crimes,
        cast(s.da_crimes as integer) as da_crimes,
        s.last_recorded_date,
        coalesce(
            home.neighbourhood_code,
            case
                when s.place_month
                    >= s.event_month - to_months(cast($window_months as integer) - 1)
                    then s.place_neighbourhood
            end,
            'unknown'
        ) as neighbourhood_code,
        p.birth_date,
        p.deceased_date,
        row_number() over (
            order by s.harm desc, s.crimes desc, s.last_recorded_date desc, s.person_id asc,
                s.event_month asc
        ) as seg_order
    from segments as s
    inner join persons as p on s.person_id = p.person_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where
        s.crimes > 0 and (s.harm >= $min_harm or s.crimes >= $min_crimes)
        and p.person_type = 'individual'
),

-- (person, list month) where the person is a suspect, offender or charged on a recorded crime
-- in the month's window: for the people who can be listed only.
suspect_months as (
    select distinct s.person_id, m.month_start
    from suspects as s
    inner join crimes as c on s.crime_id = c.crime_id
    inner join list_months as m
        on c.recorded_date between m.window_start and m.month_end
    where
        c.status = 'recorded'
        and s.person_id in (select c.person_id from candidates as c)
),

-- The listed segments as narrow rows, ranked in every list month they cover (rank_macro.sql).
segs as (
    select seg_order, person_id, event_month, next_month, neighbourhood_code, listed_before,
        deceased_date as end_date
    from live
),

ranked as (
    select * rename (flagged as also_suspect) from ranked_months('segs', 'suspect_months')
)

select
    m.month,
    l.person_id,
    l.neighbourhood_code,
    l.harm as harm_days,
    l.crimes,
    l.da_crimes,
    l.last_recorded_date,
    cast(r.rank as integer) as rank,
    cast(r.neighbourhood_rank as integer) as neighbourhood_rank,
    case when r.continuing then 'continuing' else 'new' end as status,
    reasons_of(
        ['high_harm', 'repeat', 'domestic_abuse', 'child', 'also_suspect'],
        [
            l.harm >= $min_harm,
            l.crimes >= $min_crimes,
            l.da_crimes > 0,
            l.birth_date is not null and l.birth_date + to_years(18) > m.month_end,
            r.also_suspect
        ]
    ) as reasons,
    m.in_range
from ranked as r
inner join live as l on r.seg_order = l.seg_order
inner join list_months as m on r.month_start = m.month_start
order by r.month_start, r.rank
