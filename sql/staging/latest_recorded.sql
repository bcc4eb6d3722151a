-- The as-of date of an extract without extract.json: its latest recorded_date that is not
-- after today (a mistyped future date must not become the as-of date).
select max(recorded_date) as latest from src_crimes where recorded_date <= $today
