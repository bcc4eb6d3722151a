-- Audit entries, newest first, at most $limit: of $username and of the $actions (a JSON
-- array) when given, at or after $since and before $until when given.
select id, at, username, action, run_id, month, scope, rows, person_id, detail
from audit
where ($username is null or username = $username)
    and ($actions is null or action in (select value from json_each($actions)))
    and ($since is null or at >= $since)
    and ($until is null or at < $until)
order by id desc
limit $limit
