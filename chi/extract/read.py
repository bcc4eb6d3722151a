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
machine's zone. A file written with page checksums is decoded and verified in full when the
extract is located (a damaged page may still decode, to wrong values); any other file is
decoded in full by validation's one read of it, and a file that read fails on is refused by
name (:func:`refuse_damaged`), so a damaged file is refused before anything is trusted.

Nothing downstream sees a physical type. A missing table, an unreadable or damaged file or
a missing column raises :class:`ContractError` naming the path, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from chi import sql
from chi.contract import (
    DUCKDB_TYPES,
    GENERATING_MARKER,
    TABLES,
    ContractError,
    ExtractMeta,
    Table,
    file_sha256,
)

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
        if _has_page_checksums(p, md, table):
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


def refuse_damaged(extract: Extract) -> None:
    """Raise :class:`ContractError` naming the first file of ``extract`` whose contract
    columns do not decode (DuckDB's read of the extract failed: the error names the file,
    not DuckDB's message); return when every file decodes."""
    for src in extract.sources.values():
        for f in src.files:
            _read_in_full(f.path, src.table)


_THRIFT_I32 = 0x15
"""A Thrift compact field header: the next field id (delta 1), type i32."""


def _has_page_checksums(path: Path, md: pq.FileMetaData, table: Table) -> bool:
    """Whether the first page of any contract column chunk carries a CRC (``PageHeader``
    field 4, after the three i32 sizes and type), read from its header; a header that does
    not parse counts as one, so that file is verified in full."""
    wanted = set(table.column_names)
    try:
        with path.open("rb") as fh:
            for g in range(md.num_row_groups):
                group = md.row_group(g)
                for c in range(group.num_columns):
                    col = group.column(c)
                    if col.path_in_schema not in wanted:
                        continue
                    start = col.data_page_offset
                    if col.has_dictionary_page and col.dictionary_page_offset:
                        start = col.dictionary_page_offset
                    fh.seek(start)
                    if _page_header_has_crc(fh.read(64)):
                        return True
    except (OSError, ValueError):
        return True
    return False


def _page_header_has_crc(head: bytes) -> bool:
    at = 0
    for _field in range(3):  # type, uncompressed_page_size, compressed_page_size
        if at >= len(head) or head[at] != _THRIFT_I32:
            return True
        at += 1
        while at < len(head) and head[at] & 0x80:  # a varint's continuation bytes
            at += 1
        at += 1
    return at >= len(head) or head[at] == _THRIFT_I32


def _column_kind(f: SourceFile, name: str) -> pa.DataType | None:
    kind = f.schema.field(name).type if f.schema is not None else None
    if kind is not None and pa.types.is_dictionary(kind):
        kind = kind.value_type
    return kind


def _stored_as_logical(logical: str, kind: pa.DataType) -> bool:
    """Whether a column stored as ``kind`` is read as it is rather than through its text:
    a date32 date (inside the years 1000-9999; others take the text path), an integer of
    any width (itself when it fits ``integer``, null when not), a boolean. Timestamps,
    floats, decimals and text take the text path, whose midnight and whole-number rules are
    the contract's; both give the same values (``tests/test_extract_native.py``)."""
    return (
        (logical == "date" and pa.types.is_date32(kind))
        or (logical == "int" and pa.types.is_integer(kind))
        or (logical == "bool" and pa.types.is_boolean(kind))
    )


def _extract_file(f: SourceFile, table: Table) -> sql.ExtractFile:
    """What the views need of one file: its columns in order, the contract dates stored as
    a timestamp with a time zone (read as the date in the force's zone), and the columns
    stored in their logical type."""
    names = tuple(f.schema.names) if f.schema is not None else table.column_names
    zoned, native = set(), set()
    for c in table.columns:
        kind = _column_kind(f, c.name)
        if kind is None or c.type == "string":
            continue
        if c.type == "date" and pa.types.is_timestamp(kind) and kind.tz:
            zoned.add(c.name)
        if _stored_as_logical(c.type, kind):
            native.add(c.name)
    return sql.ExtractFile(
        f.path.as_posix(), f.relative, names, frozenset(zoned), frozenset(native)
    )


def register(con: duckdb.DuckDBPyConnection, extract: Extract, timezone: str = DEFAULT_TZ) -> None:
    """Create ``raw_<table>`` and ``src_<table>`` views for every table of the extract
    (:func:`chi.sql.extract_views`, over the cast macros of ``sql/extract/``).

    ``src_<table>`` reads each file once in its own types, not through ``raw_<table>``'s
    text, which is kept for reading by hand."""
    for macro in sql.EXTRACT_MACROS:
        sql.run(con, macro)
    for name, src in extract.sources.items():
        columns = [
            sql.ContractColumn(c.name, c.type, DUCKDB_TYPES[c.type]) for c in src.table.columns
        ]
        files = [_extract_file(f, src.table) for f in src.files]
        sql.extract_views(con, name, files, columns, timezone)
