-- age_years(birth, on_date): the whole years a person born on `birth` has lived on `on_date`
-- (a birthday not yet reached that year does not count: born 2000-06-30, 23 on 2024-06-29,
-- 24 on 2024-06-30; born on 29 February, a year older on 1 March in other years); null when
-- either is null. The one age rule of the lists and the analyses.
create or replace macro age_years(birth, on_date) as
    cast(
        date_diff('year', birth, on_date)
        - case when strftime(birth, '%m-%d') > strftime(on_date, '%m-%d') then 1 else 0 end
        as integer
    )
