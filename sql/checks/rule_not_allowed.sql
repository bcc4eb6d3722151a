-- A text value outside the contract's allowed values (a blank is not checked here).
create or replace macro rule_not_allowed(v, allowed) as
    v is not null and trim(v) <> '' and not list_contains(allowed::varchar[], v)
