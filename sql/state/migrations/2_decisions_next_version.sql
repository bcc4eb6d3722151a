create trigger decisions_next_version before insert on decisions
when new.version <> 1 + coalesce((select max(version) from decisions
    where subject_type = new.subject_type and person_id = new.person_id), 0)
begin select raise(abort, 'a decision version must follow the latest version'); end
