select distinct action from audit order by 1
