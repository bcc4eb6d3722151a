-- reasons_of(names, flags): the names whose flag is true, in the order given: why a row is
-- on a list (a null flag is not a reason).
create or replace macro reasons_of(names, flags) as
    list_filter(names, lambda name, i: flags[i])
