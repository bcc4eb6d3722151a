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
with windowed as (
    select
        m.month,
        oc.person_id,
        coalesce(sum(oc.weight), 0) as harm,
        count(*) as crimes,
        count(*) filter (where oc.domestic_abuse) as da_crimes,
        max(oc.recorded_date) as last_recorded_date,
        arg_max(
            oc.crime_neighbourhood_code,
            strftime(oc.recorded_date, '%Y-%m-%d') || '|' || oc.crime_id
        ) filter (where oc.crime_neighbourhood_code is not null) as place_neighbourhood,
        bool_or(oc.role_rank = 3) as charged
    from list_months as m
    inner join offender_crimes as oc
        on oc.month_start between m.window_start and m.month_start
    group by m.month, oc.person_id
),

victim_counts as (
    select m.month, oc.person_id, count(distinct v.person_id) as victims_count
    from list_months as m
    inner join offender_crimes as oc
        on oc.month_start between m.window_start and m.month_start
    inner join victims as v on oc.crime_id = v.crime_id and v.person_id <> oc.person_id
    group by m.month, oc.person_id
),

scored as (
    select
        w.*,
        m.in_range,
        m.previous_month,
        m.month_end,
        coalesce(vc.victims_count, 0) as victims_count,
        coalesce(s.da_victims_36m, 0) as da_victims_36m,
        percent_rank() over (
            partition by w.month order by date_diff('day', w.last_recorded_date, m.month_end) desc
        ) as recency,
        percent_rank() over (partition by w.month order by w.crimes) as frequency,
        percent_rank() over (partition by w.month order by w.harm) as gravity
    from windowed as w
    inner join list_months as m on w.month = m.month
    left join victim_counts as vc on w.month = vc.month and w.person_id = vc.person_id
    left join da_serial as s on w.month = s.month and w.person_id = s.offender_id
),

listed as (
    select
        sc.*,
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
    from scored as sc
    inner join persons as p on sc.person_id = p.person_id
    left join ref_lsoa as home on p.home_lsoa_code = home.lsoa_code
    where
        (p.deceased_date is null or p.deceased_date > sc.month_end)
        and (
            sc.harm >= $min_harm or sc.crimes >= $min_crimes or sc.da_victims_36m >= 2
        )
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
    cast(row_number() over (
        partition by l.month
        order by l.harm desc, l.crimes desc, l.last_recorded_date desc, l.person_id asc
    ) as integer) as rank,
    cast(row_number() over (
        partition by l.month, l.neighbourhood_code
        order by l.harm desc, l.crimes desc, l.last_recorded_date desc, l.person_id asc
    ) as integer) as neighbourhood_rank,
    case
        when exists (
            select 1 from listed as prev
            where prev.month = l.previous_month and prev.person_id = l.person_id
        ) then 'continuing'
        else 'new'
    end as status,
    list_filter(
        [
            case when l.harm >= $min_harm then 'high_harm' end,
            case when l.crimes >= $min_crimes then 'repeat' end,
            case when l.da_crimes > 0 then 'domestic_abuse' end,
            case when l.da_victims_36m >= 2 then 'serial_da' end,
            case when l.charged then 'charged' end,
            case when l.child then 'child' end,
            case when l.also_victim then 'also_victim' end
        ],
        lambda x: x is not null
    ) as reasons,
    l.in_range
from listed as l
order by l.month, rank
