-- A non-text column whose text does not cast to its contract type: null beside non-null text.
create or replace macro rule_not_valid(v, raw) as v is null and raw is not null
