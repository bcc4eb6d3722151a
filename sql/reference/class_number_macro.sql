-- class_number(offence_code, ho_class): the Home Office classification number of an offence
-- key (its leading digits) or else of its class; chi.offences.classification_number in SQL.
create or replace macro class_number(offence_code, ho_class) as
    coalesce(try_cast(regexp_extract(split_part(offence_code, '.', 1), '^\s*([0-9]+)', 1)
                      as integer),
             try_cast(regexp_extract(ho_class, '^\s*([0-9]+)', 1) as integer))
