-- Every failure of every check: one row per (row, check) failed.
create or replace table rejects (
    table_name varchar, key varchar, column_name varchar, reason varchar,
    value varchar, file varchar, row bigint
)
