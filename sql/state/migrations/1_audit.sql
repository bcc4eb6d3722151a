-- Migration 1: the audit log: who, when, what, and only the list coordinates.
create table audit (
    id integer primary key autoincrement,
    at text not null,
    username text not null,
    action text not null,
    run_id text,
    month text,
    scope text,
    rows integer,
    person_id text,
    detail text
)
