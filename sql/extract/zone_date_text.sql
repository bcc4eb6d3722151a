-- A timestamp with a time zone as the text of the date it was in the zone tz.
create or replace macro zone_date_text(tz, v) as cast(cast(timezone(tz, v) as date) as varchar)
