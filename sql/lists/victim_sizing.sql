-- Sizing the victim list for action: a step over the ranked list (victim_list_all), kept apart
-- from the window computation. One row per listed person and list month in range:
-- specialist_team: the specialist team that owns the listing, when the person's crimes in the
--   policy's specialist offence groups (specialist_offences: offence_code, ho_class, team,
--   priority; built from the policy) are what list them, i.e. without those crimes their
--   window harm < $min_harm and crimes < $min_crimes. The team is the one whose crimes hold
--   the most of their harm in the window (ties: the groups' order in the policy). Else null.
-- action_rank: the rank within the neighbourhood among people with no specialist team, in
--   neighbourhood_rank order; null for a specialist team's people (they take no place).
-- within_size: action_rank <= $list_size (every such person when $list_size is 0).
with spec_crimes as (
    select
        l.month,
        l.person_id,
        so.team,
        min(so.priority) as priority,
        coalesce(sum(v.weight), 0) as harm,
        count(*) as crimes
    from victim_list_all as l
    inner join list_months as m on l.month = m.month
    inner join victimisations as v
        on
            l.person_id = v.person_id
            and v.counted
            and v.recorded_date between m.window_start and m.month_end
    inner join specialist_offences as so
        on
            v.offence_code is not distinct from so.offence_code
            and v.ho_class is not distinct from so.ho_class
    where l.in_range
    group by l.month, l.person_id, so.team
),

-- Per listed person and month: the team whose crimes hold the most harm (ties: the groups'
-- order in the policy), and the specialist harm and crimes of all teams (one aggregate, not a
-- window per person).
teams as (
    select
        month,
        person_id,
        arg_max(team, (harm, -priority)) as team,
        sum(harm) as spec_harm,
        sum(crimes) as spec_crimes
    from spec_crimes
    group by month, person_id
),

owned as (
    select
        t.month,
        t.person_id,
        t.team
    from teams as t
    inner join victim_list_all as l on t.month = l.month and t.person_id = l.person_id
    where
        not (
            l.harm_days - t.spec_harm >= $min_harm or l.crimes - t.spec_crimes >= $min_crimes
        )
),

sized as (
    select
        l.month,
        l.person_id,
        l.rank,
        o.team as specialist_team,
        case
            when o.team is null
                then row_number() over (
                    partition by l.month, l.neighbourhood_code, o.team is null
                    order by l.neighbourhood_rank
                )
        end as action_rank
    from victim_list_all as l
    left join owned as o on l.month = o.month and l.person_id = o.person_id
    where l.in_range
)

select
    month,
    person_id,
    specialist_team,
    cast(action_rank as integer) as action_rank,
    coalesce(action_rank <= $list_size or $list_size = 0, false) as within_size
from sized
order by month, rank
