-- A text value outside the contract's allowed values (a blank is not checked here). The list is
-- tested first, so only a value outside it is trimmed.
create or replace macro rule_not_allowed(v, allowed) as
    v is not null and not list_contains(allowed::varchar[], v) and trim(v) <> ''
