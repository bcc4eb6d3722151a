-- The stored hash of one audit entry (for checking an anchor).
select hash from audit where id = $id
