-- Migration 4: the entries to chain, in id order.
select id, at, username, action, run_id, month, scope, rows, person_id, detail
from audit order by id
