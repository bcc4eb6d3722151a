-- One Parquet file's rows ({source}: read_parquet of its path, columns renamed by position) with
-- every contract column ({columns}: as text, or cast to its type), the file's path relative
-- to the extract ({file}, a quoted literal: a view takes no parameters) and its 1-based
-- row ({row}). A table's view stacks one of these per file (union all).
select {columns}, {file} as _file, {row} as _row from {source}
