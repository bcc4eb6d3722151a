-- Each LSOA's district (chi calibrate).
select lsoa_code, district_name from ref_lsoa
