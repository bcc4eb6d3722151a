-- A whole number outside the contract's range lo-hi.
create or replace macro rule_out_of_range(v, lo, hi) as v is not null and (v < lo or v > hi)
