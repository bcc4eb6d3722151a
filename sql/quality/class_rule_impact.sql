-- What depends on the class-level rule, per list month in range: harm in the window (every
-- counted victimisation), the part of it weighted at class level under the run's rule and
-- what that part would be under the other rule, and how many people are listed
-- (victim_list_all), how many of them have a class-level crime in the window, how many would
-- not be listed under the other rule and how many more would be.
-- Eligibility and thresholds as lists/victim_list.sql (harm >= $min_harm or crimes >=
-- $min_crimes, individuals not deceased on or before the month's last day). Crime counts do
-- not depend on weights, so only people with a class-level crime in the window can cross the
-- line; only they are windowed person by person.
with weighed as (
    select
        v.person_id,
        cast(date_trunc('month', v.recorded_date) as date) as month_start,
        v.weight,
        c.weight_other,
        c.basis in ('ho_class_min', 'ho_class_typical') as at_class
    from victimisations as v
    inner join crimes as c on v.crime_id = c.crime_id
    where v.counted
),

by_month as (
    select
        month_start,
        coalesce(sum(weight), 0) as harm,
        count(*) filter (where at_class) as class_crimes,
        coalesce(sum(weight) filter (where at_class), 0) as class_harm,
        coalesce(sum(weight_other) filter (where at_class), 0) as class_harm_other
    from weighed
    group by month_start
),

totals as (
    select
        m.month,
        sum(b.harm) as harm_days,
        cast(sum(b.class_crimes) as bigint) as class_victimisations,
        sum(b.class_harm) as class_harm_days,
        sum(b.class_harm_other) as class_harm_other_days
    from list_months as m
    inner join by_month as b on b.month_start between m.window_start and m.month_start
    where m.in_range
    group by m.month
),

class_people as (
    select distinct person_id from weighed where at_class
),

people as (
    select
        m.month,
        w.person_id,
        coalesce(sum(w.weight), 0) as harm,
        coalesce(sum(w.weight_other), 0) as harm_other,
        count(*) as crimes,
        count(*) filter (where w.at_class) as class_crimes
    from list_months as m
    inner join weighed as w on w.month_start between m.window_start and m.month_start
    where m.in_range and w.person_id in (select person_id from class_people)
    group by m.month, w.person_id
),

moved as (
    select
        w.month,
        w.class_crimes,
        w.harm >= $min_harm or w.crimes >= $min_crimes as listed,
        w.harm_other >= $min_harm or w.crimes >= $min_crimes as listed_other
    from people as w
    inner join list_months as m on w.month = m.month
    inner join persons as p on w.person_id = p.person_id
    where
        p.person_type = 'individual'
        and (p.deceased_date is null or p.deceased_date > m.month_end)
),

moved_counts as (
    select
        month,
        count(*) filter (where listed and class_crimes > 0) as listed_with_class_crimes,
        count(*) filter (where listed and not listed_other) as listed_only_this_rule,
        count(*) filter (where listed_other and not listed) as listed_only_other_rule
    from moved
    group by month
),

listed as (
    select month, count(*) as listed from victim_list_all group by month
)

select
    m.month,
    coalesce(t.harm_days, 0) as harm_days,
    coalesce(t.class_victimisations, 0) as class_victimisations,
    coalesce(t.class_harm_days, 0) as class_harm_days,
    coalesce(t.class_harm_other_days, 0) as class_harm_other_days,
    coalesce(l.listed, 0) as listed,
    coalesce(c.listed_with_class_crimes, 0) as listed_with_class_crimes,
    coalesce(c.listed_only_this_rule, 0) as listed_only_this_rule,
    coalesce(c.listed_only_other_rule, 0) as listed_only_other_rule
from list_months as m
left join totals as t on m.month = t.month
left join listed as l on m.month = l.month
left join moved_counts as c on m.month = c.month
where m.in_range
order by m.month
