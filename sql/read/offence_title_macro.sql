-- offence_title(title, offence_code, ho_class, basis): what a victimisation's offence is
-- called: the weight set's title of its offence key; else the name of its Home Office
-- offence code or class (table offence_names, never a bare 019/08); a code that matched
-- nothing as "unrecognised offence code ..."; else null (offence_shown falls back further).
create or replace macro offence_title(title, offence_code, ho_class, basis) as
    coalesce(title,
             (select n.name from offence_names as n where n.code = upper(offence_code)),
             (select n.name from offence_names as n where n.code = ho_class),
             case when basis = 'unmatched'
                  then 'unrecognised offence code ' || coalesce(offence_code, ho_class) end)
