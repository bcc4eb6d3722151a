-- The weight set the run was scored with, as loaded (exact DECIMAL(18,2) weights).
select * from ref_weights order by all
