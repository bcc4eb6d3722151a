-- One row per (recorded crime, victim), with the victim's type, sex and age band at the
-- time of the crime (the age_band macro, sql/analysis/age_band_macro.sql).
select c.crime_id, v.person_id, p.person_type, c.recorded_date, c.weight, c.counted,
       c.domestic_abuse, c.da_relationship, v.dash_risk, c.ho_code, c.ho_subclass,
       c.offence_group,
       c.neighbourhood_code, c.area, c.outcome_code,
       coalesce(p.sex, 'unknown') as sex,
       age_band(p.birth_date, c.recorded_date) as age_band
from victims as v
inner join analysis_crimes as c on v.crime_id = c.crime_id
inner join persons as p on v.person_id = p.person_id
order by c.recorded_date, c.crime_id, v.person_id
