-- src_<table> of a table without files: the typed columns ({columns}) over the empty raw view.
select {columns}, _file, _row from {raw}
