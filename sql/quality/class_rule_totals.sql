-- Every recorded crime weighted at class level: how many, and their harm under the run's
-- class rule and under the other (for chi validate, before any list is scored).
select
    count(*) as crimes,
    coalesce(sum(weight), 0) as harm_days,
    coalesce(sum(weight_other), 0) as harm_other_days
from crimes
where status = 'recorded' and basis in ('ho_class_min', 'ho_class_typical')
