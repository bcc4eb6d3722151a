-- Migration 4: an entry must be the next id and name the last entry's hash.
create trigger audit_chained before insert on audit
when new.id is null
  or new.id <> 1 + coalesce((select max(id) from audit), 0)
  or new.hash is null or length(new.hash) <> 64
  or new.prev_hash is not coalesce((select hash from audit where id = new.id - 1), '')
begin select raise(abort, 'an audit entry must be appended to the end of the chain'); end
