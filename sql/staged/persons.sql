-- The run's accepted persons without their names (the analyses and the backtest never use
-- them), in person_id order. sex, birth_date, ethnicity, home_lsoa_code, deceased_date: PII.
select person_id, person_type, sex, birth_date, ethnicity, home_lsoa_code, deceased_date
from persons
order by person_id
