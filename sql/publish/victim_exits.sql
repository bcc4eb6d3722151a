-- The run's victim_exits.parquet: the exits of the list months, as lists/victim_exits.sql
-- wrote them (in order).
select * from victim_exits
