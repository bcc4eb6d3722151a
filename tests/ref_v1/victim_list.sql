-- The victim list for every month in list_months (contract §3).
-- Window: the W calendar months ending with the list month (list_months.window_start..month_end).
-- Eligible: individuals not deceased on or before the last day of the month.
-- Listed: harm >= $min_harm or crimes >= $min_crimes.
-- Neighbourhood: of home_lsoa_code when known and mapped; else of the latest victimisation in
-- the window with a mapped LSOA (ties: the larger crime_id); else 'unknown'.
-- Order: harm desc, crimes desc, latest recorded_date desc, person_id asc.
-- also_suspect: recorded as suspect, offender or charged on a recorded crime in the window.
with windowed as (
    select
        m.month,
        pm.person_id,
        coalesce(sum(pm.harm), 0) as harm,
        sum(pm.crimes) as crimes,
        sum(pm.da_crimes) as da_crimes,
        max(pm.last_recorded_date) as last_recorded_date,
        arg_max(pm.place_neighbourhood, pm.place_key) as place_neighbourhood
    from list_months as m
    inner join person_months as pm
        on pm.month_start between m.window_start and m.month_start
    group by m.month, pm.person_id
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
        and (w.harm >= $min_harm or w.crimes >= $min_crimes)
)

select
    l.month,
    l.person_id,
    l.neighbourhood_code,
    cast(l.harm as decimal(18, 2)) as harm_days,
    cast(l.crimes as integer) as crimes,
    cast(l.da_crimes as integer) as da_crimes,
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
            case when l.child then 'child' end,
            case when l.also_suspect then 'also_suspect' end
        ],
        lambda x: x is not null
    ) as reasons,
    l.in_range
from listed as l
order by l.month, rank
