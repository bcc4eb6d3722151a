"""Extract: read a force's extract as typed DuckDB views (``read``), check every row against
contract v1 (``validate``), and turn a force's own export into an extract (``importer``).
"""
