-- An integer of any width stored as one: itself when it fits integer, null when not.
create or replace macro native_int(v) as try_cast(v as integer)
