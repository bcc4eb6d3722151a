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
        da_victims_36m
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

-- The stretches over a threshold, spread over the list months they cover.
windowed as (
    select
        m.month,
        m.month_start,
        m.month_end,
        m.in_range,
        m.previous_month,
        s.* exclude (event_month, next_month),
        date_diff('day', s.last_recorded_date, m.month_end) as recency_days
    from live as s
    inner join list_months as m
        on m.month_start >= s.event_month and m.month_start < s.next_month
    where s.harm >= $min_harm or s.crimes >= $min_crimes or s.da_victims_36m >= 2
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

listed as (
    select
        sc.*,
        case
            when r.active > 1 then cast(r.below as double) / cast(r.active - 1 as double)
            else 0
        end as recency,
        case
            when f.active > 1 then cast(f.below as double) / cast(f.active - 1 as double)
            else 0
        end as frequency,
        case
            when g.active > 1 then cast(g.below as double) / cast(g.active - 1 as double)
            else 0
        end as gravity,
        coalesce(home.neighbourhood_code, sc.place_neighbourhood, 'unknown')
            as neighbourhood_code,
        p.birth_date is not null
        and p.birth_date + to_years(18) > sc.month_end as child,
        exists (
            select 1 from victimisations as vi
            inner join list_months as m2 on m2.month = sc.month
            where
                vi.person_id = sc.person_id
                and vi.recorded_date between m2.window_start and m2.month_end
        ) as also_victim
    from windowed as sc
    inner join persons as p on sc.person_id = p.person_id
    inner join recency as r on sc.month = r.month and sc.recency_days = r.recency_days
    inner join frequency as f on sc.month = f.month and sc.crimes = f.crimes
    inner join gravity as g on sc.month = g.month and sc.harm = g.harm
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where
        (p.deceased_date is null or p.deceased_date > sc.month_end)
        and (
            sc.harm >= $min_harm or sc.crimes >= $min_crimes or sc.da_victims_36m >= 2
        )
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
    neighbourhood_rank(l.month, l.neighbourhood_code, l.rank) as neighbourhood_rank,
    list_status(l.person_id, l.month, l.previous_month) as status,
    reasons_of(
        ['high_harm', 'repeat', 'domestic_abuse', 'serial_da', 'charged', 'child', 'also_victim'],
        [
            l.harm >= $min_harm,
            l.crimes >= $min_crimes,
            l.da_crimes > 0,
            l.da_victims_36m >= 2,
            l.charged,
            l.child,
            l.also_victim
        ]
    ) as reasons,
    l.in_range
from ranked as l
order by l.month, rank
