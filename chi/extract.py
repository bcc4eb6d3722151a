"""Open an extract folder as DuckDB views with explicit casts.

A force's extract may arrive as one Parquet file per table or as a folder of many files with
different physical types (a date stored as a timestamp at midnight, int32 where int16 would
do, a string column where one file wrote numbers). The reader hides all of that: for each
contract table it creates

- ``raw_<table>``: every file read on its own and stacked, every column as text, with ``_file`` (the
  file's path relative to the extract) and ``_row`` (1-based data row within that file), so any
  problem can be named by file, column and row;
- ``src_<table>``: the contract's logical types, cast losslessly from the text (a value that
  does not cast is NULL here, and its text stays in ``<column>__raw`` for the validator).

Nothing downstream sees a physical type. A missing table, an unreadable file or a missing
column raises :class:`ContractError` naming the path, never a traceback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from chi.contract import DUCKDB_TYPES, TABLES, ContractError, ExtractMeta, Table
from chi.sql import identifier as _quote
from chi.sql import literal as _literal


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relative: str
    rows: int

    def sha256(self) -> str:
        h = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


@dataclass(frozen=True)
class TableSource:
    table: Table
    files: tuple[SourceFile, ...]
    columns: tuple[str, ...]
    """Columns present in the files (a superset of the contract's)."""

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass(frozen=True)
class Extract:
    folder: Path
    meta: ExtractMeta
    sources: dict[str, TableSource]

    def files_manifest(self) -> list[dict[str, str | int]]:
        return [
            {"table": name, "file": f.relative, "rows": f.rows, "sha256": f.sha256()}
            for name, src in self.sources.items()
            for f in src.files
        ]


def locate(folder: Path) -> Extract:
    """Find and check every contract table of the extract in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError(f"{folder}: not a folder (an extract is a folder of Parquet files)")
    meta = ExtractMeta.load(folder)
    sources = {name: _locate_table(folder, table) for name, table in TABLES.items()}
    return Extract(folder=folder, meta=meta, sources=sources)


def _locate_table(folder: Path, table: Table) -> TableSource:
    single = folder / f"{table.name}.parquet"
    many = folder / table.name
    if single.is_file() and many.is_dir():
        raise ContractError(
            f"{folder}: both {single.name} and {many.name}/ exist; keep one entry per table"
        )
    if single.is_file():
        paths = [single]
    elif many.is_dir():
        paths = sorted(p for p in many.rglob("*.parquet") if p.is_file())
    else:
        raise ContractError(
            f"{folder}: table '{table.name}' is missing "
            f"(expected {single.name} or a folder {many.name}/ of Parquet files)"
        )
    files: list[SourceFile] = []
    present: set[str] | None = None
    for p in paths:
        rel = p.relative_to(folder).as_posix()
        try:
            md = pq.read_metadata(p)
            names = set(pq.read_schema(p).names)
        except Exception as exc:
            raise ContractError(
                f"{p}: cannot be read as Parquet ({exc.__class__.__name__})"
            ) from None
        files.append(SourceFile(path=p, relative=rel, rows=md.num_rows))
        present = names if present is None else present | names
        missing = [c for c in table.column_names if c not in names]
        if missing:
            raise ContractError(f"{p}: column {', '.join(missing)} missing from '{table.name}'")
    return TableSource(table=table, files=tuple(files), columns=tuple(sorted(present or ())))


def cast_expression(logical: str, text: str) -> str:
    """SQL that casts a text value to a contract type, or NULL if that would lose anything."""
    if logical == "string":
        return text
    if logical == "date":
        # A timestamp is a date only at midnight; anything else would silently move a crime.
        return (
            f"case when try_cast({text} as timestamp) = "
            f"cast(try_cast({text} as date) as timestamp) then try_cast({text} as date) end"
        )
    if logical == "int":
        return f"try_cast({text} as integer)"
    if logical == "bool":
        return (
            f"case lower(trim({text})) when 'true' then true when 'false' then false "
            f"when '1' then true when '0' then false end"
        )
    raise ValueError(logical)


def register(con: duckdb.DuckDBPyConnection, extract: Extract) -> None:
    """Create ``raw_<table>`` and ``src_<table>`` views for every table of the extract."""
    for name, src in extract.sources.items():
        table = src.table
        if src.files:
            # One select per file, each cast to text on its own, so files of one table may use
            # different physical types (a union by name would try to cast one into the other).
            cols = ", ".join(
                f"cast({_quote(c)} as varchar) as {_quote(c)}" for c in table.column_names
            )
            raw = "\nunion all\n".join(
                f"select {cols}, {_literal(f.relative)} as _file, file_row_number + 1 as _row "
                f"from read_parquet({_literal(f.path.as_posix())}, file_row_number = true)"
                for f in src.files
            )
        else:
            cols = ", ".join(f"cast(null as varchar) as {_quote(c)}" for c in table.column_names)
            raw = f"select {cols}, cast(null as varchar) as _file, cast(null as bigint) as _row "
            raw += "where false"
        con.sql(f"create or replace view raw_{name} as {raw}")
        typed = []
        for c in table.columns:
            q = _quote(c.name)
            expr = cast_expression(c.type, q)
            typed.append(f"cast({expr} as {DUCKDB_TYPES[c.type]}) as {q}")
            if c.type != "string":
                typed.append(f"{q} as {_quote(c.name + '__raw')}")
        con.sql(
            f"create or replace view src_{name} as "
            f"select {', '.join(typed)}, _file, _row from raw_{name}"
        )
