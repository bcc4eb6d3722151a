-- Migration 4 (the audit hash chain, chi.state.store._chain_audit): lift the update guard
-- while the entries already there are chained.
drop trigger if exists audit_no_update
