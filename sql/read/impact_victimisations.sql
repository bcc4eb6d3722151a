-- The victimisations of everyone on a victim list within the scope, for an impact review.
select person_id, month, weight, counted
from victimisations
where person_id in (
    select person_id from victim_list
    where $all_neighbourhoods or list_contains($neighbourhoods::varchar[], neighbourhood_code)
)
order by person_id, month
