-- Person $pid's name, age at $month_end and the name of neighbourhood $code (one row even
-- when the person is not in the run's people).
select p.name, age_years(p.birth_date, $month_end::date),
       coalesce((select neighbourhood_name from nb where neighbourhood_code = $code), 'unknown')
from (select 1) left join people as p on p.person_id = $pid
