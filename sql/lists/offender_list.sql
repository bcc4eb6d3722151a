-- The high-harm offender list for every month in list_months.
-- Offender harm for M: the sum of weights of recorded crimes in the window where the person is
-- a suspect, offender or charged (each crime once); victims_count: distinct victims of them.
-- da_victims_36m: distinct DA victims over the 36 calendar months ending with M; serial_da when
-- two or more. Listed: harm >= $min_harm or crimes >= $min_crimes or serial_da; individuals not
-- deceased by the end of M.
-- Recency-frequency-gravity (rfg_score, 0-100): each offender active in the window is placed by
-- percent rank among that month's active offenders on recency (days from the latest crime to
-- the end of M, fewer is higher), frequency (crimes) and gravity (harm); the score is the
-- weighted mean of the three ranks ($rfg_recency, $rfg_frequency, $rfg_gravity) x 100.
-- Order: harm desc, crimes desc, latest recorded_date desc, person_id asc.
--
-- Windows by change points (see victim_list.sql): offender-months add their values at their
-- month and remove them $window_months later; a running sum gives every window. The percent
-- ranks are (rows ranked below) / (active offenders - 1), counted from a histogram of each
-- month's values, so only listed offenders are looked up. Distinct victims and DA victims are
-- running sums too: their change points (offender_victims, da_serial) join the same changes.
-- Listed stretches are ranked once per month over narrow rows, and the status comes from the
-- stretch before (see victim_list.sql). The percent ranks are left joins, which match every
-- row (a listed offender is active), so that they are joined last, to the listed rows only.
with offender_months as (
    select
        person_id,
        month_start,
        sum(weight) as harm,
        count(*) as crimes,
        count(*) filter (where domestic_abuse) as da_crimes,
        max(recorded_date) as last_recorded_date,
        arg_max(
            crime_neighbourhood_code,
            (recorded_date, crime_id)
        ) filter (where crime_neighbourhood_code is not null) as place_neighbourhood,
        count(*) filter (where role_rank = 3) as charged
    from offender_crimes
    group by person_id, month_start
),

changes as (
    select
        person_id,
        event_month,
        sum(harm) as harm,
        sum(crimes) as crimes,
        sum(da_crimes) as da_crimes,
        sum(charged) as charged,
        sum(victims) as victims_count,
        sum(da_victims) as da_victims_36m,
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
            charged,
            0 as victims,
            0 as da_victims,
            last_recorded_date,
            place_neighbourhood,
            case when place_neighbourhood is not null then month_start end as place_month
        from offender_months
        union all
        select
            person_id,
            cast(month_start + to_months(cast($window_months as integer)) as date),
            -harm,
            -crimes,
            -da_crimes,
            -charged,
            0,
            0,
            null,
            null,
            null
        from offender_months
        union all
        select person_id, event_month, 0, 0, 0, 0, delta, 0, null, null, null
        from offender_victims
        union all
        select offender_id, event_month, 0, 0, 0, 0, 0, delta, null, null, null
        from da_serial
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
        sum(da_victims_36m) over running - da_victims_36m as da_victims_before,
        sum(da_crimes) over running as da_crimes,
        sum(charged) over running as charged,
        sum(victims_count) over running as victims_count,
        sum(da_victims_36m) over running as da_victims_36m,
        max(last_recorded_date) over running as last_recorded_date,
        last_value(place_neighbourhood ignore nulls) over running as place_neighbourhood,
        last_value(place_month ignore nulls) over running as place_month
    from changes
    window running as (
        partition by person_id order by event_month
        rows between unbounded preceding and current row
    )
),

-- Stretches with crimes in the window (active offenders), with segment-level values.
live as (
    select
        person_id,
        event_month,
        next_month,
        cast(harm as decimal(18, 2)) as harm,
        cast(crimes as integer) as crimes,
        cast(da_crimes as integer) as da_crimes,
        last_recorded_date,
        case
            when place_month >= event_month - to_months(cast($window_months as integer) - 1)
                then place_neighbourhood
        end as place_neighbourhood,
        charged > 0 as charged,
        victims_count,
        da_victims_36m,
        crimes_before > 0
        and (
            harm_before >= $min_harm or crimes_before >= $min_crimes or da_victims_before >= 2
        ) as listed_before
    from segments
    where crimes > 0
),

-- Every active offender in every list month, with only what the percent ranks need.
active as (
    select
        m.month,
        s.harm,
        s.crimes,
        date_diff('day', s.last_recorded_date, m.month_end) as recency_days
    from live as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
),

recency as (
    select
        month,
        recency_days,
        sum(n) over (
            partition by month order by recency_days desc
            rows between unbounded preceding and current row
        ) - n as below,
        sum(n) over (partition by month) as active
    from (select month, recency_days, count(*) as n from active group by all)
),

frequency as (
    select
        month,
        crimes,
        sum(n) over (
            partition by month order by crimes rows between unbounded preceding and current row
        ) - n as below,
        sum(n) over (partition by month) as active
    from (select month, crimes, count(*) as n from active group by all)
),

gravity as (
    select
        month,
        harm,
        sum(n) over (
            partition by month order by harm rows between unbounded preceding and current row
        ) - n as below,
        sum(n) over (partition by month) as active
    from (select month, harm, count(*) as n from active group by all)
),

-- The stretches over a threshold, with everything constant over a stretch, numbered in list
-- order (seg_order, see victim_list.sql).
listed as (
    select
        s.* exclude (place_neighbourhood),
        coalesce(home.neighbourhood_code, s.place_neighbourhood, 'unknown')
            as neighbourhood_code,
        p.birth_date,
        p.deceased_date,
        row_number() over (
            order by s.harm desc, s.crimes desc, s.last_recorded_date desc, s.person_id asc,
                s.event_month asc
        ) as seg_order
    from live as s
    inner join persons as p on s.person_id = p.person_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where s.harm >= $min_harm or s.crimes >= $min_crimes or s.da_victims_36m >= 2
),

-- (person, list month) where a listed offender is the victim of a crime recorded in the window.
victim_months as (
    select distinct v.person_id, m.month_start
    from victimisations as v
    inner join list_months as m
        on v.recorded_date between m.window_start and m.month_end
    where v.person_id in (select l.person_id from listed as l)
),

-- Each listed (offender, month) as narrow rows: rank, neighbourhood rank, status and
-- also_victim (rank_macro.sql).
segs as (
    select seg_order, person_id, event_month, next_month, neighbourhood_code, listed_before,
        deceased_date as end_date
    from listed
),

ranked as (
    select * rename (flagged as also_victim) from ranked_months('segs', 'victim_months')
),

-- The listed rows with their stretch's values and the three percent ranks.
scored as (
    select
        m.month,
        m.month_end,
        m.in_range,
        r.rank,
        r.neighbourhood_rank,
        r.continuing,
        r.also_victim,
        l.*,
        case
            when rc.active > 1 then cast(rc.below as double) / cast(rc.active - 1 as double)
            else 0
        end as recency,
        case
            when f.active > 1 then cast(f.below as double) / cast(f.active - 1 as double)
            else 0
        end as frequency,
        case
            when g.active > 1 then cast(g.below as double) / cast(g.active - 1 as double)
            else 0
        end as gravity
    from ranked as r
    inner join listed as l on r.seg_order = l.seg_order
    inner join list_months as m on r.month_start = m.month_start
    left join recency as rc
        on
            m.month = rc.month
            and date_diff('day', l.last_recorded_date, m.month_end) = rc.recency_days
    left join frequency as f on m.month = f.month and l.crimes = f.crimes
    left join gravity as g on m.month = g.month and l.harm = g.harm
)

select
    l.month,
    l.person_id,
    l.neighbourhood_code,
    cast(l.harm as decimal(18, 2)) as harm_days,
    cast(l.crimes as integer) as crimes,
    cast(l.victims_count as integer) as victims_count,
    cast(l.da_crimes as integer) as da_crimes,
    cast(l.da_victims_36m as integer) as da_victims_36m,
    l.da_victims_36m >= 2 as serial_da,
    cast(round(
        100 * (
            $rfg_recency * l.recency + $rfg_frequency * l.frequency + $rfg_gravity * l.gravity
        ) / ($rfg_recency + $rfg_frequency + $rfg_gravity),
        1
    ) as decimal(4, 1)) as rfg_score,
    l.last_recorded_date,
    cast(l.rank as integer) as rank,
    cast(l.neighbourhood_rank as integer) as neighbourhood_rank,
    case when l.continuing then 'continuing' else 'new' end as status,
    reasons_of(
        ['high_harm', 'repeat', 'domestic_abuse', 'serial_da', 'charged', 'child', 'also_victim'],
        [
            l.harm >= $min_harm,
            l.crimes >= $min_crimes,
            l.da_crimes > 0,
            l.da_victims_36m >= 2,
            l.charged,
            l.birth_date is not null and l.birth_date + to_years(18) > l.month_end,
            l.also_victim
        ]
    ) as reasons,
    l.in_range
from scored as l
order by l.month, l.rank
