-- Count one failure against $key; lock it until $locked_until when that is given.
insert into sign_in_limits (key, failures, first_at, last_at, locked_until)
values ($key, 1, $now, $now, $locked_until)
on conflict (key) do update set failures = failures + 1,
    last_at = excluded.last_at,
    locked_until = coalesce(excluded.locked_until, locked_until)
