-- The lists person $pid is on in $month within the scope (the offender list only when
-- $offenders): no row, no person view.
select neighbourhood_code, 'victim' as list, 1 as k from victim_list
where month = $month and person_id = $pid
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], neighbourhood_code))
union all
select neighbourhood_code, 'offender', 2 from offender_list
where $offenders and month = $month and person_id = $pid
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], neighbourhood_code))
order by k
