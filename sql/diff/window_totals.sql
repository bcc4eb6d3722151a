-- Victim harm and crimes per (month, person) for everyone in a run's windows: the run's
-- victimisations ($victimisations, a Parquet path) over each of the $windows (a list of
-- month, window_start and month_start, the window as that run's policy sets it).
with months as (
    select w.month, w.window_start, w.month_start
    from unnest($windows::struct(month varchar, window_start date, month_start date)[]) as t(w)
)
select m.month, v.person_id,
       coalesce(sum(v.weight), 0) as harm, count(*) as crimes
from months as m
inner join read_parquet($victimisations) as v
    on v.counted
    and cast(date_trunc('month', v.recorded_date) as date)
        between m.window_start and m.month_start
group by all
