-- The high-harm offender list of $month within the scope, with serial-DA flags and
-- recency-frequency-gravity scores, age at the month's end ($month_end).
select o.rank, o.neighbourhood_rank, o.neighbourhood_code,
       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
       o.person_id, p.name, age_years(p.birth_date, $month_end::date) as age,
       o.harm_days, o.crimes, o.victims_count, o.da_crimes, o.da_victims_36m,
       o.serial_da, o.rfg_score, o.last_recorded_date, o.reasons, o.status
from offender_list as o
left join people as p using (person_id)
left join nb using (neighbourhood_code)
where o.month = $month
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], o.neighbourhood_code))
order by o.rank
