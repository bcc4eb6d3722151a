-- The victimisations of a scored extract, for the engagement effect's check.
select crime_id, person_id, recorded_date, month, weight, counted from victimisations
