-- The typical offence of each Home Office subclass (data/offences/class_typical.csv, built by
-- scripts/build_offence_rules.py from published recorded-crime volumes): the key whose weight
-- the class-level rule 'typical' uses.
select
    norm_ho_class(ho_class) as ho_class,
    offence_key
from read_csv($path, header = true, all_varchar = true)
