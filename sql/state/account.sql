-- One account with its sign-in failures and lock.
select u.username, u.role, u.scope, u.demo, u.created_at, coalesce(l.failures, 0),
       l.locked_until
from users u left join sign_in_limits l on l.key = 'account:' || u.username
where u.username = $username
