-- Who is on list A ($list_a, a Parquet path) and not on list B ($list_b), or the other way,
-- in each of the $months, with rank, harm and crimes on each side (from the list when
-- listed, else from totals_a / totals_b) and the listing's reasons.
with la as (select * from read_parquet($list_a) where list_contains($months::varchar[], month)),
     lb as (select * from read_parquet($list_b) where list_contains($months::varchar[], month))
select coalesce(la.month, lb.month) as month,
       coalesce(la.person_id, lb.person_id) as person_id,
       case when la.person_id is null then 'entered' else 'left' end as change,
       la.rank as rank_a, lb.rank as rank_b,
       coalesce(la.harm_days, ta.harm) as harm_a,
       coalesce(lb.harm_days, tb.harm) as harm_b,
       coalesce(la.crimes, ta.crimes) as crimes_a,
       coalesce(lb.crimes, tb.crimes) as crimes_b,
       coalesce(la.reasons, lb.reasons) as reasons
from la full outer join lb using (month, person_id)
left join totals_a as ta
    on ta.month = coalesce(la.month, lb.month)
    and ta.person_id = coalesce(la.person_id, lb.person_id)
left join totals_b as tb
    on tb.month = coalesce(la.month, lb.month)
    and tb.person_id = coalesce(la.person_id, lb.person_id)
where la.person_id is null or lb.person_id is null
order by month, change, coalesce(lb.rank, la.rank), person_id
