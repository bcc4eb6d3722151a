-- Distinct DA victims of each offender over the 36 calendar months ending with each list
-- month: the serial-DA flag (two or more) of the offender list and of the dyads.
select m.month, d.offender_id, count(distinct d.victim_id) as da_victims_36m
from list_months as m
inner join da_links as d
    on d.recorded_date between m.month_start - to_months(35) and m.month_end
where d.counted
group by m.month, d.offender_id
