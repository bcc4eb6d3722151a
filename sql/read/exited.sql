-- People on the list the month before $month, within the scope, who are not on $month's.
select e.person_id, p.name, e.neighbourhood_code,
       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
       e.previous_rank, e.harm_days, e.crimes, e.reason
from victim_exits as e
left join people as p using (person_id)
left join nb using (neighbourhood_code)
where e.month = $month
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], e.neighbourhood_code))
order by e.previous_rank
