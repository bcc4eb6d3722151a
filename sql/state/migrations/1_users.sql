-- Migration 1: local accounts (argon2id hashes only; never a password).
create table users (
    username text primary key,
    role text not null,
    scope text not null default '',
    password_hash text not null,
    demo integer not null default 0,
    created_at text not null,
    failed_attempts integer not null default 0,
    locked_until text
)
