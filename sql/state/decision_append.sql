-- Append one version of a person's decision record (the triggers keep versions in order).
insert into decisions (subject_type, person_id, list_month, area, meeting_date, decision,
                       service, engagement_start, engagement_end, notes, owner, review_date,
                       version, recorded_by, recorded_at, source)
values ($subject_type, $person_id, $list_month, $area, $meeting_date, $decision,
        $service, $engagement_start, $engagement_end, $notes, $owner, $review_date,
        $version, $recorded_by, $recorded_at, $source)
