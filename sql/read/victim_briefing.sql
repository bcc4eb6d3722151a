-- The victim list of $month within the scope with each person's latest offence in the
-- window ($start to $month), offences of the $restricted groups shown by the group's label.
with listed as (
    select * from victim_list
    where month = $month
        and ($all_neighbourhoods or list_contains($neighbourhoods::varchar[], neighbourhood_code))
),
latest as (
    select person_id,
           arg_max(offence_shown(offence_title(v.offence_title, v.offence_code, v.ho_class,
                                               v.basis),
                                 v.offence_code, v.ho_class,
                                 $restricted::struct(label varchar, classes integer[],
                                                     codes varchar[], subclasses varchar[],
                                                     excluded varchar[])[]),
                   strftime(recorded_date, '%Y-%m-%d') || '|' || crime_id) as latest_offence
    from victimisations as v
    where counted and month between $start and $month
        and person_id in (select person_id from listed)
    group by person_id
)
select v.rank, v.neighbourhood_rank, v.neighbourhood_code,
       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
       v.person_id, p.name, age_years(p.birth_date, $month_end::date) as age,
       v.harm_days, v.crimes, v.da_crimes, v.last_recorded_date,
       l.latest_offence, v.reasons, v.status,
       z.specialist_team, z.action_rank, coalesce(z.within_size, true) as within_size
from listed as v
left join people as p using (person_id)
left join nb using (neighbourhood_code)
left join latest as l using (person_id)
left join victim_sizing as z on z.month = v.month and z.person_id = v.person_id
order by v.rank
