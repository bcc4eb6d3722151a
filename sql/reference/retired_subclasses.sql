-- Retired Home Office subclasses and their successors (data/offences/retired_subclasses.csv,
-- each row with its source). A crime recorded under a retired subclass that the weight set no
-- longer lists is weighted as its successor (weight rule 'retired_ho_class').
select
    norm_ho_class(retired) as retired,
    norm_ho_class(successor) as successor
from read_csv($path, header = true, all_varchar = true)
