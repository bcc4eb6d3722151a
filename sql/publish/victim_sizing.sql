-- The run's victim_sizing.parquet: the victim list sized for action, as
-- lists/victim_sizing.sql wrote it (in order).
select * from victim_sizing
