-- in_offence_group(grp, offence_code, ho_class): whether a crime is in an offence group, the
-- group a struct (label, classes, codes, subclasses, excluded) as chi.offences.group_params
-- makes it; chi.offences.in_group in SQL. Never null.
create or replace macro in_offence_group(grp, offence_code, ho_class) as
    (coalesce(list_contains(grp.classes, class_number(offence_code, ho_class)), false)
     or coalesce(list_contains(grp.codes,
                               nullif(upper(trim(split_part(offence_code, '.', 1))), '')), false)
     or coalesce(list_contains(grp.subclasses, subclass_of(offence_code, ho_class)), false))
    and not coalesce(list_contains(grp.excluded, subclass_of(offence_code, ho_class)), false)
