-- Whether person $pid was ever, up to $month, an offender: on the offender list, the
-- offender of a dyad, or a listed victim also suspected.
select exists (select 1 from offender_list where person_id = $pid and month <= $month)
    or exists (select 1 from dyads where offender_id = $pid and month <= $month)
    or exists (select 1 from victim_list where person_id = $pid
               and month <= $month and list_contains(reasons, 'also_suspect'))
