-- victim_sizing for a run from before list sizing: everyone listed is within the size.
select month, person_id, cast(null as varchar) as specialist_team,
       neighbourhood_rank as action_rank, true as within_size
from victim_list
