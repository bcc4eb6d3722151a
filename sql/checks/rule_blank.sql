-- A required text column with no value, or only whitespace or control characters of any
-- kind (a tab-only key). A value starting with a character from '0' to 'z' (digits, letters
-- and the punctuation between them) is not blank, so only other values meet the pattern.
create or replace macro rule_blank(v) as
    v is null or (not (v >= '0' and v < '{') and regexp_full_match(v, '[\s\p{Z}\p{Cc}]*'))
