-- The run's dyads.parquet: the dyads_all rows of the list months asked for (not the month
-- before the first, kept for new/continuing status). dyads_all is written in (month, rank)
-- order and a filter keeps it, so this needs no sort.
select * exclude (in_range) from dyads_all where in_range
