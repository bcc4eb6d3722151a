-- Accepted persons. name, sex, birth_date, ethnicity, home_lsoa_code, deceased_date: PII.
select
    person_id,
    person_type,
    nullif(trim(name), '') as name,
    sex,
    birth_date,
    ethnicity,
    nullif(upper(trim(home_lsoa_code)), '') as home_lsoa_code,
    deceased_date
from valid_persons
