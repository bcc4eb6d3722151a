-- Every victimisation with its weight and basis, as staged: the run's victimisations.parquet
-- but for the offence title and has_suspect (publish/victimisation_lookups.sql, added by
-- chi/scoring/runs.py after ho_class and at the end). staging/victimisations.sql writes the
-- table in (recorded_date, crime_id, person_id) order and a scan keeps it, so this needs no
-- sort.
select crime_id, person_id, recorded_date, occurred_date, month,
       offence_code, ho_class, weight, basis,
       weight_rule, domestic_abuse, da_relationship, dash_risk,
       crime_neighbourhood_code, historic, counted
from victimisations
