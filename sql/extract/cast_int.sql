-- A value's text as an integer, or null: only a whole number (4, +4, 4.0) is an int; 3.5, "4.9",
-- "0x0A" and "1e1" would each become some other number, so they stay null and are rejected.
create or replace macro cast_int(t) as
    case when regexp_full_match(trim(t), '[+-]?[0-9]+([.]0*)?')
        then try_cast(regexp_replace(trim(t), '[.]0*$', '') as integer) end
