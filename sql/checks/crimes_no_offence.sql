-- Contract: at least one of offence_code and ho_class is present on every crime.
select
    'crimes' as table_name,
    crime_id as key,
    'offence_code' as column_name,
    'no offence_code or ho_class' as reason,
    null as value,
    _file as file,
    _row as row
from src_crimes
where coalesce(trim(offence_code), '') = '' and coalesce(trim(ho_class), '') = ''
