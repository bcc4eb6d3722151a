-- A value's text as a boolean (true/false/1/0, any case and spacing), or null.
create or replace macro cast_bool(t) as
    case lower(trim(t)) when 'true' then true when 'false' then false
        when '1' then true when '0' then false end
