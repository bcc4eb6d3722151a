-- Forget $key's failures when the last is older than $forget_before and no lock holds $now.
delete from sign_in_limits
where key = $key and last_at <= $forget_before and (locked_until is null or locked_until <= $now)
