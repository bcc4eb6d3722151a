-- The offence codes and classes of crimes no weight could be found for, most first.
select coalesce(offence_code, '(none)'), coalesce(ho_class, '(none)'), count(*)
from crimes where basis = 'unmatched'
group by all order by 3 desc, 1, 2
