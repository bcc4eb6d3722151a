-- subclass_of(offence_code, ho_class): the class/subclass CCC/SS of a crime, from its class
-- or else from the offence key's class and subclass parts; chi.offences.subclass_of in SQL.
create or replace macro subclass_of(offence_code, ho_class) as
    coalesce(
        case when regexp_full_match(trim(ho_class), '[0-9]{1,3}/[0-9]{1,2}')
             then lpad(cast(cast(split_part(trim(ho_class), '/', 1) as integer) as varchar), 3, '0')
                  || '/'
                  || lpad(cast(cast(split_part(trim(ho_class), '/', 2) as integer) as varchar), 2, '0')
        end,
        case when len(string_split(trim(offence_code), '.')) >= 4
                  and regexp_full_match(string_split(trim(offence_code), '.')[-3], '[0-9]{1,3}')
                  and regexp_full_match(string_split(trim(offence_code), '.')[-2], '[0-9]{1,2}')
             then lpad(cast(cast(string_split(trim(offence_code), '.')[-3] as integer) as varchar),
                       3, '0')
                  || '/'
                  || lpad(cast(cast(string_split(trim(offence_code), '.')[-2] as integer) as varchar),
                          2, '0')
        end)
