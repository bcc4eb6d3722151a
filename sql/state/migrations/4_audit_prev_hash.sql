alter table audit add column prev_hash text
