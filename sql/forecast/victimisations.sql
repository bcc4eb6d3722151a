-- The backtest's victimisations: counted, of individuals, with the weight in hundredths of
-- a day, the DASH risk as its rank in $dash_levels (1 first; 0 none) and the crime's place.
select v.person_id, v.crime_id, v.recorded_date,
       cast(coalesce(v.weight, 0) * 100 as bigint) as weight_c,
       v.weight is not null as weighted,
       v.domestic_abuse,
       cast(coalesce(list_position($dash_levels::varchar[], v.dash_risk), 0) as tinyint) as dash,
       v.crime_neighbourhood_code as place
from victimisations as v
where v.counted and v.person_type = 'individual'
order by v.recorded_date, v.crime_id, v.person_id
