-- Staged crimes by weight basis and the offence-code rule that resolved them, most first.
select basis, weight_rule, count(*) from crimes
group by all order by 3 desc, 1, 2
