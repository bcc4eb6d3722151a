-- neighbourhood_rank(month, neighbourhood_code, rank): the rank within the neighbourhood's
-- part of a month's list, in list order.
create or replace macro neighbourhood_rank(month, neighbourhood_code, rank) as
    cast(row_number() over (partition by month, neighbourhood_code order by rank) as integer)
