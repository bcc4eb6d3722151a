-- Contract references: suspects.crime_id -> crimes, suspects.person_id -> persons, both accepted.
-- A row pointing at a crime or person that exists but was itself rejected says so.
select
    'suspects' as table_name,
    coalesce(v.crime_id, '') || '|' || coalesce(v.person_id, '') as key,
    'crime_id' as column_name,
    case
        when exists (select 1 from src_crimes as c where c.crime_id = v.crime_id)
            then 'crime_id refers to a rejected crime'
        else 'crime_id not found in crimes'
    end as reason,
    v.crime_id as value,
    v._file as file,
    v._row as row
from src_suspects as v
where
    v.crime_id is not null
    and not exists (select 1 from valid_crimes as c where c.crime_id = v.crime_id)
union all
select
    'suspects' as table_name,
    coalesce(v.crime_id, '') || '|' || coalesce(v.person_id, '') as key,
    'person_id' as column_name,
    case
        when exists (select 1 from src_persons as p where p.person_id = v.person_id)
            then 'person_id refers to a rejected person'
        else 'person_id not found in persons'
    end as reason,
    v.person_id as value,
    v._file as file,
    v._row as row
from src_suspects as v
where
    v.person_id is not null
    and not exists (select 1 from valid_persons as p where p.person_id = v.person_id)
