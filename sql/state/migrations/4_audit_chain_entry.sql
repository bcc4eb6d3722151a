-- Migration 4: chain one entry.
update audit set prev_hash = $prev_hash, hash = $hash where id = $id
