-- Accepted crimes, cleaned, with the weight of each crime and the basis it was resolved on.
-- Resolution order (contract §3): exact offence key -> lowest weight of the Home Office
-- class/subclass -> lowest weight of the offence group (offence_code before its first '.')
-- -> unmatched (weight null, excluded from every harm sum, reported in data quality).
-- ho_class is normalised to CCC/SS on both sides ('8/6' and '008/06' are the same class).
-- The historic-offence rule flags crimes that occurred more than $historic_months months
-- before they were recorded (null = no rule); `counted` says whether a crime counts towards
-- harm and crimes under the policy ($historic_counted).
with source as (
    select
        crime_id,
        recorded_date,
        occurred_date,
        nullif(trim(offence_code), '') as offence_code,
        case
            when regexp_full_match(trim(ho_class), '[0-9]{1,3}/[0-9]{1,2}')
                then lpad(split_part(trim(ho_class), '/', 1), 3, '0') || '/'
                || lpad(split_part(trim(ho_class), '/', 2), 2, '0')
            else nullif(trim(ho_class), '')
        end as ho_class,
        nullif(upper(trim(lsoa_code)), '') as lsoa_code,
        domestic_abuse,
        da_relationship,
        hate,
        status,
        outcome_code,
        outcome_date
    from valid_crimes
),

by_class as (
    select ho_class, min(weight) as weight from ref_weights group by ho_class
),

by_group as (
    select offence_group, min(weight) as weight from ref_weights group by offence_group
)

select
    source.*,
    strftime(source.recorded_date, '%Y-%m') as month,
    coalesce(exact.weight, by_class.weight, by_group.weight) as weight,
    case
        when exact.weight is not null then 'exact'
        when by_class.weight is not null then 'ho_class_min'
        when by_group.weight is not null then 'group_min'
        else 'unmatched'
    end as basis,
    coalesce(
        cast($historic_months as integer) is not null
        and source.occurred_date
        < source.recorded_date - to_months(cast($historic_months as integer)),
        false
    ) as historic,
    not (historic and not $historic_counted) as counted
from source
left join ref_weights as exact on source.offence_code = exact.offence_key
left join by_class on source.ho_class = by_class.ho_class
left join by_group on split_part(source.offence_code, '.', 1) = by_group.offence_group
