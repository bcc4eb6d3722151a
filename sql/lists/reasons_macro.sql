-- reasons_of(names, flags): the names whose flag is true, in the order given: why a row is
-- on a list. A flag must not be null (coalesce it: a null flag is no reason); a mask, not a
-- lambda, so that it costs little over every list row.
create or replace macro reasons_of(names, flags) as list_where(names, flags)
