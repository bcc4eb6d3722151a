-- A reference that does not point at an accepted row of its target (accepted is null when
-- no row of the target holds the value).
create or replace macro rule_reference(v, accepted) as v is not null and accepted is distinct from true
