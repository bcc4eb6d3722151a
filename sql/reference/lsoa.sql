-- The geography: each LSOA's neighbourhood, district and policing area, from the CSV at
-- $path (data/geography).
select * from read_csv($path, header = true,
    columns = {
        'lsoa_code': 'VARCHAR', 'lsoa_name': 'VARCHAR',
        'neighbourhood_code': 'VARCHAR', 'neighbourhood_name': 'VARCHAR',
        'district_code': 'VARCHAR', 'district_name': 'VARCHAR', 'area': 'VARCHAR',
        'centroid_lat': 'DOUBLE', 'centroid_lon': 'DOUBLE'})
