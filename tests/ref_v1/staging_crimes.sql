-- The staging of crimes before issue 15a (every crime resolved row by row), kept unchanged
-- as the reference for tests/test_staging_equivalence.py.
-- Accepted crimes, cleaned, with the weight of each crime, the basis it was resolved on
-- (contract §3) and the rule that found it (data quality).
--
-- Offence codes are read as forces write them:
-- - offence_code is compared with the weight set's keys after trimming, ignoring case
--   ('8n.8.6.0 ' is 8N.8.6.0); the staged offence_code is the key as the weight set spells it
--   (a code matched by its group is upper-cased; an unmatched code is kept as recorded,
--   trimmed, so data quality shows what was sent);
-- - Home Office classes are normalised to CCC/SS on both sides (norm_ho_class: '8/1', '08/01',
--   '008/01', '8/01' and '00801' are all 008/01);
-- - a class found in the offence_code column ('028/03', '8/1') is treated as a class, unless
--   it is a Home Office offence code of the weight set written with a slash ('4/3', '4/4',
--   '37/2': classification_code), which is weighted at the lowest weight of that code's
--   offences (basis group_min: 4/4 spans death by dangerous driving, 004/04, and serious
--   injury, 004/12, so reading it as class 004/04 would overstate); a key found in the
--   ho_class column (and none in offence_code) is a key;
-- - a retired subclass the weight set no longer lists is weighted as its successor
--   (ref_retired, from data/offences/retired_subclasses.csv).
--
-- Resolution order: exact key -> class (ho_class, else its successor, else a class in
-- offence_code, else its successor) -> offence group (offence_code before its first '.') ->
-- unmatched (weight null, excluded from every harm sum, reported in data quality).
-- The class-level weight is the class's lowest weight (basis ho_class_min, the contract's
-- rule) unless the policy's $class_rule is 'typical': then the weight of the class's typical
-- offence (ref_class_typical) where the weight set has it (basis ho_class_typical).
-- weight_other is the crime's weight under the other class rule (equal to weight for every
-- crime not weighted at class level), so data quality can say what depends on the choice.
--
-- The historic-offence rule flags crimes that occurred more than $historic_months months
-- before they were recorded (null = no rule); `counted` says whether a crime counts towards
-- harm and crimes under the policy ($historic_counted).
with ho_codes as (
    select
        upper(classification_code) as code,
        min(weight) as weight
    from ref_weights
    where contains(classification_code, '/')
    group by upper(classification_code)
),

source as (
    select
        crime_id,
        recorded_date,
        occurred_date,
        nullif(trim(offence_code), '') as code_text,
        case
            when upper(trim(offence_code)) not in (select code from ho_codes)
                then norm_ho_class(offence_code)
        end as code_class,
        nullif(trim(ho_class), '') as class_text,
        norm_ho_class(ho_class) as class_norm,
        nullif(upper(trim(lsoa_code)), '') as lsoa_code,
        domestic_abuse,
        da_relationship,
        hate,
        status,
        outcome_code,
        outcome_date
    from valid_crimes
),

keys as (
    select
        upper(offence_key) as key_upper,
        offence_key,
        weight
    from ref_weights
),

by_class as (
    select
        ho_class,
        min(weight) as weight
    from ref_weights
    where ho_class is not null
    group by ho_class
),

typical as (
    select
        t.ho_class,
        w.weight
    from ref_class_typical as t
    inner join ref_weights as w on t.offence_key = w.offence_key
),

by_group as (
    select
        upper(offence_group) as offence_group,
        min(weight) as weight
    from ref_weights
    group by upper(offence_group)
),

found as (
    select
        s.*,
        coalesce(k.offence_key, kh.offence_key) as key_found,
        coalesce(k.weight, kh.weight) as key_weight,
        k.offence_key is null and kh.offence_key is not null as key_in_ho_class,
        case
            when c1.ho_class is not null then s.class_norm
            when c1r.ho_class is not null then r1.successor
            when c2.ho_class is not null then s.code_class
            when c2r.ho_class is not null then r2.successor
        end as weight_class,
        case
            when c1.ho_class is not null and s.class_text = s.class_norm then 'ho_class'
            when c1.ho_class is not null then 'ho_class_respelt'
            when c1r.ho_class is not null then 'retired_ho_class'
            when c2.ho_class is not null then 'ho_class_in_offence_code'
            when c2r.ho_class is not null then 'retired_ho_class'
        end as class_rule_found,
        coalesce(g.weight, hc.weight) as group_weight,
        g.weight is null and hc.weight is not null as by_ho_code
    from source as s
    left join keys as k on upper(s.code_text) = k.key_upper
    left join keys as kh on upper(s.class_text) = kh.key_upper
    left join by_class as c1 on s.class_norm = c1.ho_class
    left join ref_retired as r1 on s.class_norm = r1.retired
    left join by_class as c1r on r1.successor = c1r.ho_class
    left join by_class as c2 on s.code_class = c2.ho_class
    left join ref_retired as r2 on s.code_class = r2.retired
    left join by_class as c2r on r2.successor = c2r.ho_class
    left join by_group as g
        on s.code_class is null and upper(split_part(s.code_text, '.', 1)) = g.offence_group
    left join ho_codes as hc on upper(s.code_text) = hc.code
),

weighed as (
    select
        f.*,
        bc.weight as class_min,
        tp.weight as class_typical,
        case
            when f.key_found is not null then 'exact'
            when f.weight_class is not null and $class_rule = 'typical' and tp.weight is not null
                then 'ho_class_typical'
            when f.weight_class is not null then 'ho_class_min'
            when f.group_weight is not null then 'group_min'
            else 'unmatched'
        end as basis
    from found as f
    left join by_class as bc on f.weight_class = bc.ho_class
    left join typical as tp on f.weight_class = tp.ho_class
)

select
    crime_id,
    recorded_date,
    occurred_date,
    coalesce(
        key_found,
        case
            when code_class is not null then null
            when basis = 'group_min' then upper(code_text)
            else code_text
        end
    ) as offence_code,
    case
        when key_in_ho_class then code_class else coalesce(class_norm, code_class, class_text)
    end as ho_class,
    lsoa_code,
    domestic_abuse,
    da_relationship,
    hate,
    status,
    outcome_code,
    outcome_date,
    strftime(recorded_date, '%Y-%m') as month,
    case basis
        when 'exact' then key_weight
        when 'ho_class_typical' then class_typical
        when 'ho_class_min' then class_min
        when 'group_min' then group_weight
    end as weight,
    basis,
    case
        when basis = 'exact' and key_in_ho_class then 'key_in_ho_class'
        when basis = 'exact' and code_text = key_found then 'exact'
        when basis = 'exact' then 'exact_respelt'
        when basis in ('ho_class_min', 'ho_class_typical') then class_rule_found
        when basis = 'group_min' and by_ho_code then 'ho_offence_code'
        when basis = 'group_min' then 'offence_group'
        else 'unmatched'
    end as weight_rule,
    weight_class,
    case basis
        when 'exact' then key_weight
        when 'ho_class_typical' then class_min
        when 'ho_class_min' then coalesce(class_typical, class_min)
        when 'group_min' then group_weight
    end as weight_other,
    coalesce(
        cast($historic_months as integer) is not null
        and occurred_date
        < recorded_date - to_months(cast($historic_months as integer)),
        false
    ) as historic,
    not (historic and not $historic_counted) as counted
from weighed
