-- The run's accepted victim rows, in (crime_id, person_id) order.
select crime_id, person_id, dash_risk from victims order by crime_id, person_id, dash_risk
