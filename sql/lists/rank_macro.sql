-- ranked_months(segs, flags): each listed (segment, list month) as narrow rows, ranked: the
-- block the victim, offender and dyad lists share. segs names a relation of the listed
-- segments, one row each (seg_order, person_id, event_month, next_month, neighbourhood_code,
-- listed_before: the segment before was listed, end_date: no list month after it, null for
-- none); flags names a relation of (person_id, month_start): flagged is true for the rows of
-- a (person_id, month) in it (also_suspect, also_victim, serial_da). A segment covers the list
-- months from its event_month up to, not including, next_month, and none after end_date.
-- Rank and neighbourhood rank number the rows of a month in seg_order. Status: continuing when
-- the month before is a list month and the person was listed then: in the same segment unless
-- the month is the segment's first, and then in the segment before (listed_before).
-- The relations are named (query_table), so that the macro is one statement and takes no value
-- from the caller's parameters.
create or replace macro ranked_months(segs, flags) as table
select
    month_start,
    seg_order,
    continuing,
    flagged,
    row_number() over (partition by month_start order by seg_order) as rank,
    row_number() over (
        partition by month_start, neighbourhood_code order by seg_order
    ) as neighbourhood_rank
from (
    select
        m.month_start,
        w.seg_order,
        w.neighbourhood_code,
        m.previous_listed and (m.month_start > w.event_month or w.listed_before)
            as continuing,
        f.person_id is not null as flagged
    from query_table(segs) as w
    inner join (
        select *, previous_month in (select month from list_months) as previous_listed
        from list_months
    ) as m
        on m.month_start >= w.event_month and m.month_start < w.next_month
    left join query_table(flags) as f
        on w.person_id = f.person_id and m.month_start = f.month_start
    where w.end_date is null or w.end_date > m.month_end
)
