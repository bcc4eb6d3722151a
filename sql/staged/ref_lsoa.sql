-- The geography the run was scored with (LSOA -> neighbourhood, district, area).
select * from ref_lsoa order by lsoa_code
