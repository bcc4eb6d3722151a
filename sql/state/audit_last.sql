-- The last audit entry's id and hash (the link the next entry chains to).
select id, hash from audit order by id desc limit 1
