-- A date after the extract's as-of date.
create or replace macro rule_after(v, as_of) as v > as_of
