create trigger decisions_no_delete before delete on decisions
begin select raise(abort, 'decisions are append-only: save a new version'); end
