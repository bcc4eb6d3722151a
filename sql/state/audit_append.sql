-- Append one audit entry, chained to the last (the audit_chained trigger checks it).
insert into audit (id, at, username, action, run_id, month, scope, rows, person_id, detail,
                   prev_hash, hash)
values ($id, $at, $username, $action, $run_id, $month, $scope, $rows, $person_id, $detail,
        $prev_hash, $hash)
