-- Every recorded crime for the analyses (chi.analysis.source; made the table analysis_crimes
-- by chi.sql.create_table): month, weight, DA flag and relationship, outcome, place of the
-- crime's LSOA, and its Home Office offence code: the weight set's classification_code of
-- the exact offence key, else the code shared by every weight row of its ho_class or of its
-- offence group, else the class number of ho_class (else the offence code's group).
with
    by_class as (
        select ho_class, min(classification_code) as code from ref_weights
        group by ho_class having count(distinct classification_code) = 1
    ),
    by_group as (
        select offence_group, min(classification_code) as code from ref_weights
        group by offence_group having count(distinct classification_code) = 1
    )
select c.crime_id, c.recorded_date, c.month, c.offence_code, c.ho_class,
       coalesce(
           exact.classification_code, by_class.code, by_group.code,
           nullif(ltrim(split_part(c.ho_class, '/', 1), '0'), ''),
           split_part(c.offence_code, '.', 1)
       ) as ho_code,
       coalesce(exact.ho_class, c.ho_class) as ho_subclass,
       split_part(coalesce(c.offence_code, c.ho_class), '.', 1) as offence_group,
       cast(c.weight as double) as weight, c.basis, c.counted,
       c.domestic_abuse, c.da_relationship, c.outcome_code, c.outcome_date,
       l.neighbourhood_code, l.neighbourhood_name, l.district_name, l.area
from crimes as c
left join ref_weights as exact on c.offence_code = exact.offence_key
left join by_class on c.ho_class = by_class.ho_class
left join by_group on split_part(c.offence_code, '.', 1) = by_group.offence_group
left join ref_lsoa as l on c.lsoa_code = l.lsoa_code
where c.status = 'recorded'
order by c.recorded_date, c.crime_id
