create index audit_at on audit (at)
