-- A date before the earliest date the contract accepts.
create or replace macro rule_before(v, earliest) as v < earliest
