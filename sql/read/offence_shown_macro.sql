-- offence_shown(title, offence_code, ho_class, restricted): the offence as a user sees it:
-- the label of the first restricted group it is in, else its title, code or class. The
-- restricted groups are a bound list (chi.offences.group_params), never text in the query.
create or replace macro offence_shown(title, offence_code, ho_class, restricted) as
    coalesce(list_filter(restricted,
                         lambda g: in_offence_group(g, offence_code, ho_class))[1].label,
             title, offence_code, ho_class, 'unknown offence')
