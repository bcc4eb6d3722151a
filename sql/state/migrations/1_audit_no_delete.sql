create trigger audit_no_delete before delete on audit
begin select raise(abort, 'the audit log is append-only'); end
