-- The earliest recorded date of the staged crimes (null when there are none).
select min(recorded_date) from crimes
