-- A value's text as a date, or null: a timestamp is a date only at midnight (anything else would
-- silently move a crime); try_cast throughout, so a date past the timestamp range (year
-- 300000) is not a valid date here, rather than an error half-way through reading.
create or replace macro cast_date(t) as
    case when try_cast(t as timestamp) = try_cast(try_cast(t as date) as timestamp)
        then try_cast(t as date) end
