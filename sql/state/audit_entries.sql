-- Every audit entry with its links, in id order (chi audit verify).
select id, at, username, action, run_id, month, scope, rows, person_id, detail, prev_hash, hash
from audit order by id
