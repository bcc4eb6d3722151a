-- age_on(birth, on_date): whole years of age on a date (a birthday counts from its day).
create or replace macro age_on(birth, on_date) as
    cast(date_diff('year', birth, on_date)
         - case when strftime(birth, '%m-%d') > strftime(on_date, '%m-%d') then 1 else 0 end
         as integer)
