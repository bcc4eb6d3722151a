-- The victim list of $month within the scope ($all_neighbourhoods, or the codes in
-- $neighbourhoods), ranked, with name, age at the month's end ($month_end) and place.
select v.rank, v.neighbourhood_rank, v.neighbourhood_code,
       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
       v.person_id, p.name, age_years(p.birth_date, $month_end::date) as age,
       v.harm_days, v.crimes, v.da_crimes, v.last_recorded_date,
       v.reasons, v.status
from victim_list as v
left join people as p using (person_id)
left join nb using (neighbourhood_code)
where v.month = $month
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], v.neighbourhood_code))
order by v.rank
