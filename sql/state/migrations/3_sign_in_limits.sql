-- Migration 3: sign-in failures per account name and per client address
-- (chi.state.store.Store.check_password).
create table sign_in_limits (
    key text primary key,
    failures integer not null,
    first_at text not null,
    last_at text not null,
    locked_until text
)
