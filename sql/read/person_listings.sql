-- Person $pid's victim-list entries up to $month, newest first.
select month, rank, neighbourhood_rank, harm_days, crimes, status, reasons
from victim_list where person_id = $pid and month <= $month
order by month desc
