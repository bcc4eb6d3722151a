-- What depends on the class-level rule, per list month in range: harm in the window (every
-- counted victimisation), the part of it weighted at class level under the run's rule and
-- what that part would be under the other rule, and how many people are listed, how many of
-- them would not be under the other rule and how many more would be.
-- Eligibility and thresholds as lists/victim_list.sql (harm >= $min_harm or crimes >=
-- $min_crimes, individuals not deceased on or before the month's last day); crimes counts do
-- not depend on weights, so only harm can move a person across the line.
with windowed as (
    select
        m.month,
        v.person_id,
        coalesce(sum(v.weight), 0) as harm,
        coalesce(sum(c.weight_other), 0) as harm_other,
        count(*) as crimes,
        count(*) filter (where c.basis in ('ho_class_min', 'ho_class_typical')) as class_crimes,
        coalesce(
            sum(v.weight) filter (where c.basis in ('ho_class_min', 'ho_class_typical')), 0
        ) as class_harm,
        coalesce(
            sum(c.weight_other) filter (where c.basis in ('ho_class_min', 'ho_class_typical')),
            0
        ) as class_harm_other
    from list_months as m
    inner join victimisations as v
        on v.counted and v.recorded_date between m.window_start and m.month_end
    inner join crimes as c on v.crime_id = c.crime_id
    where m.in_range
    group by m.month, v.person_id
),

totals as (
    select
        month,
        sum(harm) as harm_days,
        sum(class_crimes) as class_victimisations,
        sum(class_harm) as class_harm_days,
        sum(class_harm_other) as class_harm_other_days
    from windowed
    group by month
),

people as (
    select
        w.month,
        w.class_crimes,
        w.harm >= $min_harm or w.crimes >= $min_crimes as listed,
        w.harm_other >= $min_harm or w.crimes >= $min_crimes as listed_other
    from windowed as w
    inner join list_months as m on w.month = m.month
    inner join persons as p on w.person_id = p.person_id
    where
        p.person_type = 'individual'
        and (p.deceased_date is null or p.deceased_date > m.month_end)
)

select
    m.month,
    coalesce(t.harm_days, 0) as harm_days,
    coalesce(t.class_victimisations, 0) as class_victimisations,
    coalesce(t.class_harm_days, 0) as class_harm_days,
    coalesce(t.class_harm_other_days, 0) as class_harm_other_days,
    count(p.month) filter (where p.listed) as listed,
    count(p.month) filter (where p.listed and p.class_crimes > 0) as listed_with_class_crimes,
    count(p.month) filter (where p.listed and not p.listed_other) as listed_only_this_rule,
    count(p.month) filter (where p.listed_other and not p.listed) as listed_only_other_rule
from list_months as m
left join totals as t on m.month = t.month
left join people as p on m.month = p.month
where m.in_range
group by all
order by m.month
