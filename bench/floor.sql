-- The floor: the least work that gives the victim list's numbers, as one DuckDB statement.
-- Reads the same Parquet, joins victims -> recorded crimes -> exact-key weights, and computes
-- every person's 12-month windowed harm and victimisation count for every month (a range
-- join of the months onto person-months), returning how many (person, month) windows there
-- are and their total harm so that nothing can be optimised away.
with victimisations as (
    select v.person_id, cast(date_trunc('month', c.recorded_date) as date) as month_start,
           w.weight
    from read_parquet($crimes) as c
    inner join read_parquet($victims) as v on c.crime_id = v.crime_id
    left join (
        select offence_key, cast(weight as decimal(18, 2)) as weight
        from read_csv($weights, header = true, all_varchar = true)
    ) as w
        on c.offence_code = w.offence_key
    where c.status = 'recorded'
),

person_months as (
    select person_id, month_start, sum(weight) as harm, count(*) as crimes
    from victimisations
    group by all
),

months as (select distinct month_start from person_months),

windows as (
    select m.month_start as month, pm.person_id, sum(pm.harm) as harm, sum(pm.crimes) as crimes
    from months as m
    inner join person_months as pm
        on pm.month_start between m.month_start - interval 11 month and m.month_start
    group by all
)

select count(*) as windows, sum(harm) as harm, sum(crimes) as crimes from windows
