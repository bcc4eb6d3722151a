-- list_status(key, month, previous_month): 'continuing' when the key (person_id; a dyad's
-- {offender_id, victim_id}) was listed in the month before, else 'new'. Over the rows of
-- one list (the months asked for and the month before the first): the key's listing before
-- this one is the previous month's exactly when the key was listed then.
create or replace macro list_status(key, month, previous_month) as
    case
        when lag(month) over (partition by key order by month) = previous_month
            then 'continuing'
        else 'new'
    end
