-- The person's latest decision version (0 when none).
select coalesce(max(version), 0) from decisions
where subject_type = $subject_type and person_id = $person_id
