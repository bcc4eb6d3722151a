-- The force's geography (chi.reference.geography_path: CHI_GEOGRAPHY, else chi.toml's [geography] path, else the
-- shipped data/geography/lsoa.csv), checked by chi.reference.geography before it is read:
-- LSOA 2021 -> neighbourhood -> district -> policing area. Extra columns (centroids) are left.
select
    trim(lsoa_code) as lsoa_code,
    trim(lsoa_name) as lsoa_name,
    trim(neighbourhood_code) as neighbourhood_code,
    trim(neighbourhood_name) as neighbourhood_name,
    trim(district_code) as district_code,
    trim(district_name) as district_name,
    trim(area) as area
from read_csv($path, header = true, all_varchar = true)
