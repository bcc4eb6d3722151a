create trigger audit_no_update before update on audit
begin select raise(abort, 'the audit log is append-only'); end
