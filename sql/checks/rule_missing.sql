-- A required column with no value.
create or replace macro rule_missing(v) as v is null
