-- list_rank(month, harm, crimes, last_recorded_date, tie): the rank on a month's list (the
-- victim, offender and dyad lists): harm desc, crimes desc, latest recorded_date desc, then
-- the key asc (person_id; a dyad's {offender_id, victim_id}) so that no two rows tie.
create or replace macro list_rank(month, harm, crimes, last_recorded_date, tie) as
    row_number() over (
        partition by month
        order by harm desc, crimes desc, last_recorded_date desc, tie asc
    )
