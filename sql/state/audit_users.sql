select distinct username from audit order by 1
