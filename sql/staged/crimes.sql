-- The run's staged crimes (staging/crimes.sql as scored: every status, exact DECIMAL(18,2)
-- weight, basis and weight rule), in crime_id order, published as staged_crimes.parquet.
select * from crimes order by crime_id
