-- Each distinct (offence_code, ho_class) of the victimisations, for the specialist groups.
select distinct offence_code, ho_class from victimisations order by all
