-- The run's accepted suspect rows, in (crime_id, person_id, role) order.
select crime_id, person_id, role from suspects order by crime_id, person_id, role
