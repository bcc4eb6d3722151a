-- Person $pid's harm and crimes recorded in each of the $months, and the window harm of
-- each month they were listed.
with months as (select unnest($months::varchar[]) as month)
select m.month,
       cast(coalesce(sum(v.weight) filter (where v.counted), 0) as decimal(18, 2)) as harm_days,
       cast(count(v.person_id) filter (where v.counted) as integer) as crimes,
       any_value(l.harm_days) as window_harm_days
from months as m
left join victimisations as v on v.month = m.month and v.person_id = $pid
left join victim_list as l on l.month = m.month and l.person_id = $pid
group by m.month
order by m.month
