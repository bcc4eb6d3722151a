-- Migration 1: sign-in sessions (the token's SHA-256 only).
create table sessions (
    token_hash text primary key,
    username text not null,
    created_at text not null,
    last_seen text not null,
    expires_at text not null,
    ended_at text
)
