"""Open an extract folder as DuckDB views with explicit casts.

A force's extract may arrive as one Parquet file per table or as a folder of many files with
different physical types (a date stored as a timestamp at midnight, int32 where int16 would
do, a string column where one file wrote numbers). The reader hides all of that: for each
contract table it creates

- ``raw_<table>``: every file read on its own and stacked, every column as text, with ``_file`` (the
  file's path relative to the extract) and ``_row`` (1-based data row within that file), so any
  problem can be named by file, column and row;
- ``src_<table>``: the contract's logical types, cast losslessly (a value that does not cast
  is NULL here, and its text stays in ``<column>__raw`` for the validator). A column already
  stored in its logical type (a date32 date, an integer, a boolean) is read as it is; only
  the others are turned into text and parsed, with the same result as parsing every value
  from text would give (``tests/test_extract_native.py``).

Contract columns are taken by exact name and position, so extra columns of any name
(``file_row_number``, ``_file``, ``CRIME_ID`` beside ``crime_id``) are ignored; a timestamp
with a time zone is read as its date in the force's zone (``Policy.timezone``), whatever the
machine's zone. Every file's contract columns are decoded in full when the extract is
located, so a damaged file is refused before anything is trusted.

Nothing downstream sees a physical type. A missing table, an unreadable or damaged file or
a missing column raises :class:`ContractError` naming the path, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from chi.contract import (
    DUCKDB_TYPES,
    GENERATING_MARKER,
    TABLES,
    ContractError,
    ExtractMeta,
    Table,
    file_sha256,
)
from chi.sql import identifier as _quote
from chi.sql import literal as _literal

DEFAULT_TZ = "Europe/London"
"""The zone a timestamp with a time zone is read in unless the policy names another."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relative: str
    rows: int
    schema: pa.Schema | None = field(default=None, compare=False, hash=False)
    """The file's physical schema (top-level columns in file order)."""

    def sha256(self) -> str:
        return file_sha256(self.path)


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

    def meta_manifest(self) -> dict[str, str | None]:
        """``extract.json`` as a run depends on it: its checksum (None when there is none)."""
        path = self.folder / "extract.json"
        sha = file_sha256(path) if path.is_file() else None
        return {"file": "extract.json", "sha256": sha}


def locate(folder: Path) -> Extract:
    """Find and check every contract table of the extract in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError(f"{folder}: not a folder (an extract is a folder of Parquet files)")
    if (folder / GENERATING_MARKER).exists():
        raise ContractError(
            f"{folder}: incomplete (chi generate did not finish writing it); generate it again"
        )
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
            schema = pq.read_schema(p)
        except Exception as exc:
            raise ContractError(
                f"{p}: cannot be read as Parquet ({exc.__class__.__name__}); export the file again"
            ) from None
        names = set(schema.names)
        files.append(SourceFile(path=p, relative=rel, rows=md.num_rows, schema=schema))
        present = names if present is None else present | names
        missing = [c for c in table.column_names if c not in names]
        if missing:
            raise ContractError(f"{p}: column {', '.join(missing)} missing from '{table.name}'")
        for c in table.column_names:
            if schema.names.count(c) > 1:
                raise ContractError(f"{p}: column {c} appears more than once in '{table.name}'")
            kind = schema.field(c).type
            if pa.types.is_dictionary(kind):
                kind = kind.value_type
            if pa.types.is_nested(kind):
                raise ContractError(
                    f"{p}: column {c} holds {kind}, not single values; export it as a plain column"
                )
        _read_in_full(p, table)
    return TableSource(table=table, files=tuple(files), columns=tuple(sorted(present or ())))


def _read_in_full(path: Path, table: Table) -> None:
    """Decode every page of the contract's columns, verifying page checksums where the file
    has them, so a corrupt file (footer intact, a data page damaged, even one that still
    decodes) is refused by name before anything is trusted, not half-way through."""
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        for _batch in pf.iter_batches(batch_size=1 << 16, columns=list(table.column_names)):
            pass
    except Exception as exc:
        raise ContractError(
            f"{path}: is damaged (a data page cannot be decoded: {exc.__class__.__name__}); "
            "export the file again"
        ) from None


def cast_expression(logical: str, text: str) -> str:
    """SQL that casts a text value to a contract type, or NULL if that would lose anything."""
    if logical == "string":
        return text
    if logical == "date":
        # A timestamp is a date only at midnight; anything else would silently move a crime.
        # try_cast throughout: a date past the timestamp range (year 300000) is not a valid
        # date here, rather than an error half-way through reading.
        return (
            f"case when try_cast({text} as timestamp) = "
            f"try_cast(try_cast({text} as date) as timestamp) then try_cast({text} as date) end"
        )
    if logical == "int":
        # Only a whole number (4, +4, 4.0) is an int: 3.5, "4.9", "0x0A" and "1e1" would
        # each become some other number, so they stay NULL and are rejected.
        return (
            f"case when regexp_full_match(trim({text}), '[+-]?[0-9]+([.]0*)?') then "
            f"try_cast(regexp_replace(trim({text}), '[.]0*$', '') as integer) end"
        )
    if logical == "bool":
        return (
            f"case lower(trim({text})) when 'true' then true when 'false' then false "
            f"when '1' then true when '0' then false end"
        )
    raise ValueError(logical)


def _column_kind(f: SourceFile, name: str) -> pa.DataType | None:
    kind = f.schema.field(name).type if f.schema is not None else None
    if kind is not None and pa.types.is_dictionary(kind):
        kind = kind.value_type
    return kind


def _file_source(f: SourceFile, table: Table) -> tuple[str, dict[str, str], str]:
    """The ``from`` clause of one file (columns renamed by position to ``_c0``...), each
    contract column's alias, and the expression of the 1-based row number."""
    names = list(f.schema.names) if f.schema is not None else list(table.column_names)
    lowered = {n.lower() for n in names}
    if "file_row_number" in lowered:
        source = (
            f"read_parquet({_literal(f.path.as_posix())}, hive_partitioning = false) "
            "with ordinality"
        )
    else:
        source = (
            f"read_parquet({_literal(f.path.as_posix())}, file_row_number = true, "
            "hive_partitioning = false)"
        )
    aliases = [f"_c{i}" for i in range(len(names))] + ["_n"]
    row = "_n" if "file_row_number" in lowered else "_n + 1"
    refs = {c.name: aliases[names.index(c.name)] for c in table.columns}
    return f"{source} as _t({', '.join(aliases)})", refs, row


def _text_expression(f: SourceFile, column: str, logical: str, ref: str, timezone: str) -> str:
    """A column's value as text; a timestamp with a time zone becomes the date it was in the
    force's zone."""
    kind = _column_kind(f, column)
    if logical == "date" and kind is not None and pa.types.is_timestamp(kind) and kind.tz:
        return f"cast(cast(timezone({_literal(timezone)}, {ref}) as date) as varchar)"
    return f"cast({ref} as varchar)"


def _file_select(f: SourceFile, table: Table, timezone: str) -> str:
    """One file's rows with every contract column as text, plus ``_file`` and ``_row``.

    Columns are renamed by position (``as _t(_c0, ...)``), so an extra column of any name
    (``file_row_number``, ``_file``, a case variant of a contract column) cannot clash with
    ours; a timestamp with a time zone becomes the date it was in the force's zone."""
    source, refs, row = _file_source(f, table)
    cols = [
        f"{_text_expression(f, c.name, c.type, refs[c.name], timezone)} as {_quote(c.name)}"
        for c in table.columns
    ]
    return f"select {', '.join(cols)}, {_literal(f.relative)} as _file, {row} as _row from {source}"


def _native(logical: str, kind: pa.DataType | None) -> str | None:
    """How a column stored as ``kind`` becomes ``logical`` without going through text, as a
    template over ``{ref}``, or None when only the text cast is exact for it.

    Each template gives exactly what :func:`cast_expression` gives on the value's text: a
    date32 is its date (inside the years 1000-9999; others take the text path), an integer
    of any width is itself when it fits ``integer`` and null when not, a boolean is itself.
    Timestamps, floats, decimals and text take the text path, whose midnight and
    whole-number rules are the contract's."""
    if kind is None:
        return None
    if logical == "date" and pa.types.is_date32(kind):
        text = cast_expression("date", "cast({ref} as varchar)")
        return (
            "case when {ref} between date '1000-01-01' and date '9999-12-31' then {ref} "
            f"else ({text}) end"
        )
    if logical == "int" and pa.types.is_integer(kind):
        return "try_cast({ref} as integer)"
    if logical == "bool" and pa.types.is_boolean(kind):
        return "{ref}"
    return None


def _file_typed_select(f: SourceFile, table: Table, timezone: str) -> str:
    """One file's rows with every contract column in its logical type and, for every
    non-text column, its text in ``<column>__raw`` (a null value beside non-null text is a
    value that does not cast), plus ``_file`` and ``_row``.

    The values are those of casting :func:`_file_select`'s text with
    :func:`cast_expression`, but a column already stored in its logical type (a date32 date,
    an int16 code, a boolean) is taken as it is: only columns that need it are parsed from
    text (``tests/test_reliability.py`` and ``tests/test_extract_native.py`` hold the two
    paths to the same answers)."""
    source, refs, row = _file_source(f, table)
    cols = []
    for c in table.columns:
        q, ref = _quote(c.name), refs[c.name]
        text = _text_expression(f, c.name, c.type, ref, timezone)
        if c.type == "string":
            cols.append(f"{text} as {q}")
            continue
        native = _native(c.type, _column_kind(f, c.name))
        typed = native.replace("{ref}", ref) if native else cast_expression(c.type, text)
        cols.append(f"cast({typed} as {DUCKDB_TYPES[c.type]}) as {q}")
        cols.append(f"{text} as {_quote(c.name + '__raw')}")
    return f"select {', '.join(cols)}, {_literal(f.relative)} as _file, {row} as _row from {source}"


def register(con: duckdb.DuckDBPyConnection, extract: Extract, timezone: str = DEFAULT_TZ) -> None:
    """Create ``raw_<table>`` and ``src_<table>`` views for every table of the extract.

    ``src_<table>`` reads each file once in its own types (:func:`_file_typed_select`), not
    through ``raw_<table>``'s text, which is kept for reading by hand."""
    for name, src in extract.sources.items():
        table = src.table
        if src.files:
            # One select per file, each cast on its own, so files of one table may use
            # different physical types (a union by name would try to cast one into the other).
            raw = "\nunion all\n".join(_file_select(f, table, timezone) for f in src.files)
            typed_files = [_file_typed_select(f, table, timezone) for f in src.files]
            con.sql(f"create or replace view raw_{name} as {raw}")
            con.sql(f"create or replace view src_{name} as " + "\nunion all\n".join(typed_files))
            continue
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
