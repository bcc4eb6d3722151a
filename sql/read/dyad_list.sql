-- The DA dyads of $month whose victim's neighbourhood is within the scope, by harm.
select d.rank, d.neighbourhood_rank, d.neighbourhood_code,
       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
       d.offender_id, po.name as offender_name,
       d.victim_id, pv.name as victim_name,
       d.relationship, d.harm_days, d.crimes, d.first_recorded_date,
       d.last_recorded_date, d.latest_dash_risk, d.reasons, d.status
from dyads as d
left join people as po on d.offender_id = po.person_id
left join people as pv on d.victim_id = pv.person_id
left join nb using (neighbourhood_code)
where d.month = $month
    and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], d.neighbourhood_code))
order by d.rank
