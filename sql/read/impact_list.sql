-- Every month's victim-list rows within the scope, for an impact review.
select month, person_id, neighbourhood_code, harm_days, crimes, da_crimes, status, reasons
from victim_list
where $all_neighbourhoods or list_contains($neighbourhoods::varchar[], neighbourhood_code)
order by month, person_id
