create trigger decisions_no_update before update on decisions
begin select raise(abort, 'decisions are append-only: save a new version'); end
