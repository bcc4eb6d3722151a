-- Every saved decision version, of $subject_type and $person_id when given.
select id, subject_type, person_id, list_month, area, version, meeting_date, decision,
       service, engagement_start, engagement_end, notes, owner, review_date, recorded_by,
       recorded_at, source
from decisions
where ($subject_type is null or subject_type = $subject_type)
    and ($person_id is null or person_id = $person_id)
order by subject_type, person_id, version
