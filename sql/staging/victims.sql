-- Accepted victim rows (crime, person), with the DASH grade at the time.
select crime_id, person_id, dash_risk from valid_victims
