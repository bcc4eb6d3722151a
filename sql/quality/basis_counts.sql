-- Staged crimes by weight basis (exact, ho_class_min, ..., unmatched).
select basis, count(*) from crimes group by basis order by basis
