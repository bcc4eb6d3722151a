-- A date stored as a date: itself inside the years 1000-9999, else what its text gives.
create or replace macro native_date(v) as
    case when v between date '1000-01-01' and date '9999-12-31' then v
        else (cast_date(cast(v as varchar))) end
