-- Person $pid's victimisations from $start to $month, newest first, offences of the
-- $restricted groups shown by the group's label.
select v.recorded_date,
       offence_shown(offence_title(v.offence_title, v.offence_code, v.ho_class, v.basis),
                     v.offence_code, v.ho_class,
                     $restricted::struct(label varchar, classes integer[], codes varchar[],
                                         subclasses varchar[], excluded varchar[])[])
           as offence,
       v.weight as chi_days,
       v.domestic_abuse,
       coalesce(nb.neighbourhood_name, v.crime_neighbourhood_code, 'unknown')
           as neighbourhood_name,
       v.counted
from victimisations as v
left join nb on v.crime_neighbourhood_code = nb.neighbourhood_code
where v.person_id = $pid and v.month between $start and $month
order by v.recorded_date desc, v.crime_id desc
