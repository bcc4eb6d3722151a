-- Contract date rule: an offence cannot begin after it was recorded.
select
    'crimes' as table_name,
    crime_id as key,
    'occurred_date' as column_name,
    'occurred after recorded (' || cast(recorded_date as varchar) || ')' as reason,
    cast(occurred_date as varchar) as value,
    _file as file,
    _row as row
from src_crimes
where occurred_date > recorded_date
