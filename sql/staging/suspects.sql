-- Accepted suspect rows (crime, person, role: suspect, offender or charged).
select crime_id, person_id, role from valid_suspects
