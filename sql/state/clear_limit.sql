-- Forget the sign-in failures counted against $key (account:<name> or client:<address>).
delete from sign_in_limits where key = $key
