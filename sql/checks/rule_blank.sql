-- A required text column with no value, or only whitespace or control characters of any
-- kind (a tab-only key).
create or replace macro rule_blank(v) as v is null or regexp_full_match(v, '[\s\p{Z}\p{Cc}]*')
