-- People on the victim list for M-1 but not for M, reported as `exited` for M, with their
-- harm and crimes in M's window (why they left: below both thresholds, or deceased).
select
    m.month,
    prev.person_id,
    prev.neighbourhood_code,
    prev.rank as previous_rank,
    cast(coalesce((
        select sum(pm.harm) from person_months as pm
        where pm.person_id = prev.person_id
            and pm.month_start between m.window_start and m.month_start
    ), 0) as decimal(18, 2)) as harm_days,
    cast(coalesce((
        select sum(pm.crimes) from person_months as pm
        where pm.person_id = prev.person_id
            and pm.month_start between m.window_start and m.month_start
    ), 0) as integer) as crimes,
    case
        when p.deceased_date is not null and p.deceased_date <= m.month_end then 'deceased'
        else 'below thresholds'
    end as reason
from list_months as m
inner join victim_list_all as prev on prev.month = m.previous_month
inner join persons as p on prev.person_id = p.person_id
where
    m.in_range
    and not exists (
        select 1 from victim_list_all as cur
        where cur.month = m.month and cur.person_id = prev.person_id
    )
order by m.month, prev.rank
