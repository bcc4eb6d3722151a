-- The run's offender_list.parquet: the offender_list_all rows of the list months asked for (not the month
-- before the first, kept for new/continuing status). offender_list_all is written in (month, rank)
-- order and a filter keeps it, so this needs no sort.
select * exclude (in_range) from offender_list_all where in_range
