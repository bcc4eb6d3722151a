-- The chosen weight set (data/weights/<file>.csv), classes in canonical CCC/SS (norm_ho_class;
-- the sheet's irregular '00200' is 002/00), weights exact DECIMAL(18,2).
select
    offence_key,
    coalesce(norm_ho_class(ho_class), ho_class) as ho_class,
    offence_group,
    classification_code,
    title,
    cast(weight as decimal(18, 2)) as weight
from read_csv($path, header = true, all_varchar = true)
