-- Every victimisation with its weight, basis and offence title: the run's
-- victimisations.parquet.
select v.crime_id, v.person_id, v.recorded_date, v.occurred_date, v.month,
       v.offence_code, v.ho_class, w.title as offence_title, v.weight, v.basis,
       v.weight_rule, v.domestic_abuse, v.da_relationship, v.dash_risk,
       v.crime_neighbourhood_code, v.historic, v.counted,
       exists (select 1 from suspects as s where s.crime_id = v.crime_id) as has_suspect
from victimisations as v
left join ref_weights as w on v.offence_code = w.offence_key
order by v.recorded_date, v.crime_id, v.person_id
