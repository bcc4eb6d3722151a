-- Every accepted suspect row (chi calibrate).
select crime_id, person_id, role from suspects
