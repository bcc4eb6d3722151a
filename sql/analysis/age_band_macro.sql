-- age_band(birth, on_date): the analyses' age band of a person born on `birth` on `on_date`,
-- by the `age_years` macro (sql/staging/age_macro.sql, defined first); 'unknown' without a
-- date of birth. The bands are chi.analysis.source.AGE_BANDS, in order.
create or replace macro age_band(birth, on_date) as
    case
        when birth is null then 'unknown'
        when age_years(birth, on_date) < 18 then 'under 18'
        when age_years(birth, on_date) < 25 then '18-24'
        when age_years(birth, on_date) < 35 then '25-34'
        when age_years(birth, on_date) < 45 then '35-44'
        when age_years(birth, on_date) < 55 then '45-54'
        when age_years(birth, on_date) < 65 then '55-64'
        else '65 and over'
    end
