-- One staged table of a published run, read back from its Parquet file ($path).
select * from read_parquet($path)
