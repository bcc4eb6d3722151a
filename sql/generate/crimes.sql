-- The staged crimes as calibration reads them (chi calibrate).
select crime_id, recorded_date, month, status, domestic_abuse, da_relationship,
       lsoa_code, offence_code, ho_class, weight,
       split_part(offence_code, '.', 1) as offence_group
from crimes
