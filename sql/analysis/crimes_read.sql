-- The analyses' crimes frame: analysis_crimes (sql/analysis/crimes.sql) as it was made.
select * from analysis_crimes
