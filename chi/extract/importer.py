"""Import a force's own export into a contract-v1 extract: ``chi import SOURCE --mapping M``.

A force's records system or warehouse exports CSV, Excel or Parquet with its own column names,
``DD/MM/YYYY`` dates, ``Y``/``N`` flags and its own status words. A mapping file (TOML, the
shape ``chi import --template`` prints) says, per contract table, which file holds it, which
source column feeds each contract column, and how source values translate into contract
values. The importer only translates; it never judges a row: every source row is written (a
wholly blank row is skipped and counted), and the rows the contract cannot accept are rejected
with their reason by ``chi validate`` as for any extract.

What it decides:

- A wrong mapping (a missing file, an unknown table, key or contract column, a source column
  that is not in the file, a value mapped to something the contract does not allow) is one
  error naming the mapping file and line, before anything is written.
- Values are trimmed; a blank value is null. Value mappings match after trimming, ignoring
  case; a value already in the contract's spelling passes (in any case).
- Dates: ISO (``2024-03-05``, or a date and time, whose date is kept) always, else
  ``date_format`` (a time of day after the date is dropped). Flags: ``true_values`` and
  ``false_values``, and ``true``/``false``/``1``/``0``. Whole numbers also as ``14.0``.
- A value that cannot be read as its type is written null and counted in the report with the
  file and row (never the value); a categorical value no mapping covers is written as it is
  (validation rejects the row) and listed in the report with its count when it is in at least
  5 rows and the column has at most 20 different uncovered values; rarer values, and every
  value of a column with more (a mis-mapped column: names or ids into ``status``), are only
  counted, so personal values never reach the report.
- The extract is written under a hidden name and renamed into place; its folder also holds
  ``import_report.txt`` and ``import_report.json`` (the reader ignores them).

The reading is polars (CSV, after decoding with the mapping's encoding, so any Python codec
works), openpyxl (XLSX, read-only) and polars (Parquet); every source value is read as text,
so the rules above are the only conversions.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
import shutil
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from chi.contract import TABLES, Column, ExtractMeta, Table, arrow_schema

FORMATS = ("csv", "xlsx", "parquet")
SOURCE_KEYS = {
    "format",
    "encoding",
    "delimiter",
    "date_format",
    "true_values",
    "false_values",
}
TABLE_KEYS = {"file", "sheet", "columns", "values", "constants"}
BUILTIN_TRUE = ("true", "1")
BUILTIN_FALSE = ("false", "0")
SMALL_COUNT = 5
MAX_SHOWN_VALUES = 20
"""A value no mapping covers that is seen in fewer rows than this is counted, never shown."""
REPORT_NAME = "import_report"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T][0-9:.]+)?")
_INTEGER = re.compile(r"([+-]?[0-9]+)(?:\.0*)?")
"""A whole number, also as a float spreadsheets and pandas write (``14.0``): lossless."""


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the mapping file and line."""


class SourceError(ValueError):
    """A source that cannot be read (a file that is not CSV, a wrong encoding); the message
    names the file and never a value."""


# --- the mapping file ------------------------------------------------------------------------


class _Lines:
    """Where each table and key of a TOML file is, so an error can name its line."""

    _HEADER = re.compile(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
    _PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)"""
    _KEY = re.compile(rf"\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        for n, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            m = self._HEADER.match(line)
            if m and not line.lstrip().startswith("[["):
                current = tuple(_split_dotted(m.group(1)))
                self.at.setdefault(current, n)
                continue
            k = self._KEY.match(line)
            if k:
                self.at.setdefault((*current, *_split_dotted(k.group(1))), n)

    def line(self, *path: str) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.at:
                return self.at[path[:end]]
        return None


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^.]+?)\s*(?:\.|$)""", text)
    return [_unquote(p) for p in parts if p != ""]


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] == "'":
            return inner
        try:
            return str(json.loads(f'"{inner}"'))
        except ValueError:  # a TOML escape JSON does not know (\U0001F600): close enough
            return inner
    return text


@dataclass(frozen=True)
class SourceOptions:
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    date_format: str | None = None
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableMapping:
    table: Table
    file: str
    sheet: str | None
    columns: dict[str, str]
    """contract column -> source column"""
    values: dict[str, dict[str, Any]]
    """contract column -> {source value: contract value}"""
    constants: dict[str, Any]
    """contract column -> one value for every row"""


@dataclass(frozen=True)
class Mapping:
    path: Path
    source: SourceOptions
    meta: ExtractMeta
    tables: dict[str, TableMapping]
    lines: _Lines

    def where(self, *keys: str) -> str:
        n = self.lines.line(*keys)
        return f"{self.path} line {n}" if n else str(self.path)


def _fail(path: Path, lines: _Lines, keys: tuple[str, ...], message: str) -> MappingError:
    n = lines.line(*keys)
    where = f"{path} line {n}" if n else str(path)
    return MappingError(f"{where}: {message}")


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; any problem is a :class:`MappingError` naming its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise MappingError(f"{path}: mapping file not found or not readable") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from None
    lines = _Lines(text)

    def fail(keys: tuple[str, ...], message: str) -> MappingError:
        return _fail(path, lines, keys, message)

    allowed_top = {"source", "extract", *TABLES}
    for key in doc:
        if key not in allowed_top:
            raise fail((key,), f"unknown table [{key}]; expected {', '.join(sorted(allowed_top))}")
    source = _source_options(doc.get("source", {}), fail)
    meta = _extract_meta(doc.get("extract", {}), fail)
    tables: dict[str, TableMapping] = {}
    for name, table in TABLES.items():
        section = doc.get(name)
        if section is None:
            if table.may_be_empty:
                continue
            raise MappingError(
                f"{path}: no [{name}] table; every contract table except suspects needs one "
                f"(chi import --template prints a mapping to start from)"
            )
        tables[name] = _table_mapping(table, section, source, fail)
    return Mapping(path=path, source=source, meta=meta, tables=tables, lines=lines)


Fail = Callable[[tuple[str, ...], str], MappingError]


def _source_options(raw: Any, fail: Fail) -> SourceOptions:
    if not isinstance(raw, dict):
        raise fail(("source",), "[source] must be a table")
    for key in raw:
        if key not in SOURCE_KEYS:
            raise fail(
                ("source", key),
                f"unknown key {key!r} in [source]; known: {', '.join(sorted(SOURCE_KEYS))}",
            )
    fmt = raw.get("format", "csv")
    if fmt not in FORMATS:
        raise fail(("source", "format"), f"format must be one of {', '.join(FORMATS)}")
    encoding = raw.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        raise fail(("source", "encoding"), 'encoding must be text, e.g. "utf-8"')
    try:
        "".encode(encoding)
    except LookupError:
        raise fail(("source", "encoding"), f"unknown encoding {encoding!r}") from None
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter.encode("utf-8")) != 1:
        raise fail(("source", "delimiter"), 'delimiter must be one character, e.g. ","')
    date_format = raw.get("date_format")
    if date_format is not None:
        if not isinstance(date_format, str) or "%" not in date_format:
            raise fail(("source", "date_format"), "date_format must be a strptime format")
        try:
            datetime.strptime(datetime(2024, 3, 5).strftime(date_format), date_format)
        except ValueError:
            raise fail(("source", "date_format"), "date_format is not a usable format") from None
    flags: dict[str, tuple[str, ...]] = {}
    for key in ("true_values", "false_values"):
        values = raw.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail(("source", key), f"{key} must be a list of text values")
        flags[key] = tuple(v.strip() for v in values)
    both = {v.lower() for v in flags["true_values"]} & {v.lower() for v in flags["false_values"]}
    if both:
        raise fail(("source", "false_values"), "a value is in both true_values and false_values")
    return SourceOptions(
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        date_format=date_format,
        true_values=flags["true_values"],
        false_values=flags["false_values"],
    )


def _extract_meta(raw: Any, fail: Fail) -> ExtractMeta:
    if not isinstance(raw, dict):
        raise fail(("extract",), "[extract] must be a table")
    for key in raw:
        if key not in ("force", "as_of"):
            raise fail(("extract", key), f"unknown key {key!r} in [extract]; known: as_of, force")
    as_of = raw.get("as_of")
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise fail(("extract", "as_of"), "as_of must be a date, YYYY-MM-DD") from None
    if as_of is not None and (isinstance(as_of, datetime) or not isinstance(as_of, date)):
        raise fail(("extract", "as_of"), "as_of must be a date, YYYY-MM-DD")
    force = raw.get("force")
    if force is not None and not isinstance(force, str):
        raise fail(("extract", "force"), "force must be text")
    return ExtractMeta(force=force, as_of=as_of)


def _table_mapping(table: Table, raw: Any, source: SourceOptions, fail: Fail) -> TableMapping:
    name = table.name
    if not isinstance(raw, dict):
        raise fail((name,), f"[{name}] must be a table")
    for key in raw:
        if key not in TABLE_KEYS:
            raise fail(
                (name, key),
                f"unknown key {key!r} in [{name}]; known: {', '.join(sorted(TABLE_KEYS))}",
            )
    file = raw.get("file")
    if not isinstance(file, str) or not file.strip():
        raise fail((name,), f'[{name}] needs file = "..." (a file name or glob inside SOURCE)')
    if Path(file).is_absolute() or ".." in Path(file).parts:
        raise fail((name, "file"), "file must be a name or glob inside SOURCE")
    sheet = raw.get("sheet")
    if sheet is not None and (not isinstance(sheet, str) or source.format != "xlsx"):
        raise fail((name, "sheet"), 'sheet is the name of an XLSX sheet (format = "xlsx")')
    contract = set(table.column_names)

    def check_column(section: str, column: str) -> Column:
        if column not in contract:
            raise fail(
                (name, section, column),
                f"{column!r} is not a column of {name} (columns: {', '.join(table.column_names)})",
            )
        return table.column(column)

    columns_raw = raw.get("columns", {})
    if not isinstance(columns_raw, dict):
        raise fail((name, "columns"), f"[{name}.columns] must be a table")
    columns: dict[str, str] = {}
    for column, src in columns_raw.items():
        check_column("columns", column)
        if not isinstance(src, str) or not src:
            raise fail((name, "columns", column), "the source column must be a name in quotes")
        columns[column] = src
    constants_raw = raw.get("constants", {})
    if not isinstance(constants_raw, dict):
        raise fail((name, "constants"), f"[{name}.constants] must be a table")
    constants: dict[str, Any] = {}
    for column, value in constants_raw.items():
        col = check_column("constants", column)
        if column in columns:
            raise fail((name, "constants", column), f"{column} is mapped to a source column too")
        constants[column] = _check_target(col, value, (name, "constants", column), fail)
    values_raw = raw.get("values", {})
    if not isinstance(values_raw, dict):
        raise fail((name, "values"), f"[{name}.values.<column>] must be tables")
    values: dict[str, dict[str, Any]] = {}
    for column, mapping in values_raw.items():
        col = check_column("values", column)
        if not isinstance(mapping, dict):
            raise fail((name, "values", column), f"[{name}.values.{column}] must be a table")
        if column not in columns:
            raise fail(
                (name, "values", column),
                f"values for {column}, but [{name}.columns] maps no source column to it",
            )
        values[column] = {
            str(k): _check_target(col, v, (name, "values", column, str(k)), fail)
            for k, v in mapping.items()
        }
    return TableMapping(
        table=table, file=file, sheet=sheet, columns=columns, values=values, constants=constants
    )


def _check_target(col: Column, value: Any, keys: tuple[str, ...], fail: Fail) -> Any:
    """A mapped-to value must be one the contract accepts for the column."""
    if col.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise fail(keys, f"{col.name} is true or false, not {value!r}")
    if col.type == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            lo, hi = col.int_range or (-32768, 32767)
            if lo <= value <= hi:
                return value
        raise fail(keys, f"{col.name} needs a whole number, not {value!r}")
    if col.type == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise fail(keys, f"{col.name} needs a date YYYY-MM-DD, not {value!r}")
    if not isinstance(value, str):
        raise fail(keys, f"{col.name} needs text in quotes, not {value!r}")
    if col.allowed is not None and value not in col.allowed:
        raise fail(keys, f"{value!r} is not a value of {col.name} ({', '.join(col.allowed)})")
    return value


# --- reading the source ----------------------------------------------------------------------


def _match_files(source: Path, pattern: str) -> list[Path]:
    if any(ch in pattern for ch in "*?["):
        found = [
            p
            for p in source.rglob("*")
            if p.is_file() and fnmatch.fnmatch(p.relative_to(source).as_posix(), pattern)
        ]
        return sorted(found)
    p = source / pattern
    return [p] if p.is_file() else []


def _read_csv(path: Path, options: SourceOptions) -> pl.DataFrame:
    encoding = (
        "utf-8-sig"
        if options.encoding.lower().replace("_", "-")
        in (
            "utf-8",
            "utf8",
        )
        else options.encoding
    )
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not valid {options.encoding} at byte {exc.start} "
            f'(set [source] encoding, e.g. "cp1252" for a CSV saved by Excel)'
        ) from None
    if not text.strip():
        raise SourceError(f"{path}: the file is empty (no header row)")
    header = next(csv.reader(io.StringIO(text), delimiter=options.delimiter), [])
    dupes = sorted(h for h, k in Counter(h.strip() for h in header).items() if k > 1 and h)
    if dupes:
        raise SourceError(f"{path}: column {dupes[0]!r} appears more than once in the header")
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=options.delimiter,
            infer_schema=False,
            empty_string_is_null=True,
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise SourceError(
            f"{path}: cannot be read as CSV with delimiter {options.delimiter!r} "
            f"({exc.__class__.__name__}; a row with more fields than the header?)"
        ) from None
    if len(frame.columns) == len(header):  # unnamed columns (a trailing comma) hold nothing
        frame = frame.select([c for c, h in zip(frame.columns, header, strict=True) if h.strip()])
    return _trimmed_header(path, frame)


def _trimmed_header(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """Header names without surrounding spaces; the same name twice is an error."""
    names = [c.strip() for c in frame.columns]
    dupes = sorted(h for h, k in Counter(names).items() if k > 1 and h)
    if dupes:
        raise SourceError(f"{path}: column {dupes[0]!r} appears more than once in the header")
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_xlsx(path: Path, sheet: str | None) -> pl.DataFrame:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise SourceError(f"{path}: cannot be read as XLSX ({exc.__class__.__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise SourceError(f"{path}: the sheet is empty (no header row)")
        names = [_cell_text(h) for h in header]
        keep = [i for i, n in enumerate(names) if n is not None and n.strip()]
        cols: list[list[str | None]] = [[] for _ in keep]
        for row in rows:
            for j, i in enumerate(keep):
                cols[j].append(_cell_text(row[i]) if i < len(row) else None)
    finally:
        book.close()
    heads = [str(names[i]).strip() for i in keep]
    dupes = [h for h, n in Counter(heads).items() if n > 1]
    if dupes:
        raise SourceError(f"{path}: column {dupes[0]!r} appears more than once in the header")
    return pl.DataFrame(
        {h: pl.Series(h, c, dtype=pl.String) for h, c in zip(heads, cols, strict=True)}
    )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise SourceError(f"{path}: cannot be read as Parquet ({exc.__class__.__name__})") from None
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            out.append(col.dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            out.append(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
        else:
            out.append(col.cast(pl.String))
    return _trimmed_header(path, frame.select(out) if out else frame)


def _read(path: Path, mapping: Mapping, tm: TableMapping) -> pl.DataFrame:
    fmt = mapping.source.format
    if fmt == "csv":
        return _read_csv(path, mapping.source)
    if fmt == "xlsx":
        return _read_xlsx(path, tm.sheet)
    return _read_parquet(path)


# --- converting values -----------------------------------------------------------------------


def parse_date(text: str, date_format: str | None) -> date | None:
    """ISO ``YYYY-MM-DD`` (with or without a time, whose date is kept), else ``date_format``."""
    m = _ISO_DATE.fullmatch(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    if date_format:
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            pass
        head = text.split()[0]
        if head != text and not any(ch.isspace() for ch in date_format):
            try:  # a date and a time of day, written with a date-only format: keep the date
                return datetime.strptime(head, date_format).date()
            except ValueError:
                return None
    return None


@dataclass
class ColumnReport:
    source: str | None = None
    constant: bool = False
    unmapped: Counter[str] = field(default_factory=Counter)
    unread: int = 0
    unread_rows: list[str] = field(default_factory=list)
    unused_values: list[str] = field(default_factory=list)


@dataclass
class TableReport:
    name: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    blank_rows: int = 0
    rows_written: int = 0
    columns: dict[str, ColumnReport] = field(default_factory=dict)
    unused_source_columns: list[str] = field(default_factory=list)
    mapped: bool = True

    @property
    def null_columns(self) -> list[str]:
        return [c for c, r in self.columns.items() if r.source is None and not r.constant]


def _converter(
    col: Column, options: SourceOptions, values: dict[str, Any]
) -> Callable[[str], tuple[Any, bool, bool]]:
    """A function of one trimmed source value: (contract value, readable, mapped-or-allowed)."""
    by_lower = {k.strip().lower(): v for k, v in values.items()}
    allowed = {a.lower(): a for a in col.allowed} if col.allowed is not None else None
    truthy = {v.lower() for v in options.true_values} | set(BUILTIN_TRUE)
    falsy = {v.lower() for v in options.false_values} | set(BUILTIN_FALSE)

    def convert(text: str) -> tuple[Any, bool, bool]:
        key = text.lower()
        if key in by_lower:
            return by_lower[key], True, True
        if col.type == "bool":
            if key in truthy:
                return True, True, True
            if key in falsy:
                return False, True, True
            return None, False, True
        if col.type == "date":
            d = parse_date(text, options.date_format)
            return d, d is not None, True
        if col.type == "int":
            m = _INTEGER.fullmatch(text)
            if m and -32768 <= int(m.group(1)) <= 32767:
                return int(m.group(1)), True, True
            return None, False, True
        if allowed is not None:
            if key in allowed:
                return allowed[key], True, True
            return text, True, False
        return text, True, True

    return convert


_POLARS_TYPES: dict[str, Any] = {
    "string": pl.String,
    "date": pl.Date,
    "bool": pl.Boolean,
    "int": pl.Int16,
}


def _convert_table(
    frame: pl.DataFrame, tm: TableMapping, options: SourceOptions, report: TableReport
) -> pa.Table:
    """Each contract column from its source column: every distinct value converted once in
    Python (the rules of the module docstring), then mapped over the column in polars."""
    table = tm.table
    out: dict[str, pl.Series] = {}
    n = frame.height
    for col in table.columns:
        dtype = _POLARS_TYPES[col.type]
        cr = ColumnReport(source=tm.columns.get(col.name), constant=col.name in tm.constants)
        report.columns[col.name] = cr
        if cr.constant:
            out[col.name] = pl.Series(col.name, [tm.constants[col.name]] * n, dtype=dtype)
            continue
        if cr.source is None:
            out[col.name] = pl.Series(col.name, [None] * n, dtype=dtype)
            continue
        values = tm.values.get(col.name, {})
        convert = _converter(col, options, values)
        raw = frame[cr.source].str.strip_chars()
        text = pl.select(
            pl.when(raw.str.len_chars() == 0).then(None).otherwise(raw).alias(col.name)
        ).to_series()
        uniques = text.drop_nulls().unique().to_list()
        converted = {u: convert(u) for u in uniques}
        result = text.replace_strict(
            old=uniques,
            new=pl.Series([converted[u][0] for u in uniques], dtype=dtype),
            default=None,
            return_dtype=dtype,
        )
        blank = {k.strip().lower(): v for k, v in values.items()}.get("")
        if blank is not None:
            result = pl.select(
                pl.when(text.is_null()).then(pl.lit(blank, dtype)).otherwise(result)
            ).to_series()
        out[col.name] = result.alias(col.name)
        unread = [u for u in uniques if not converted[u][1]]
        if unread:
            bad = frame.filter(text.is_in(unread))
            cr.unread = bad.height
            cr.unread_rows = [f"{f} row {r}" for f, r in bad.select("_file", "_row").head(5).rows()]
        unknown = [u for u in uniques if converted[u][1] and not converted[u][2]]
        if unknown:
            counts = text.filter(text.is_in(unknown)).value_counts(name="n")
            for value, count in counts.rows():
                cr.unmapped[str(value)[:60]] += int(count)
        seen = {u.lower() for u in uniques} | ({""} if text.null_count() else set())
        cr.unused_values = [k for k in values if k.strip().lower() not in seen]
    arrow = pl.DataFrame(out).to_arrow()
    # The contract's schema, except that a required column holding nulls (a value that could
    # not be read, a column with no source) is written nullable: validation rejects those rows.
    schema = pa.schema(
        [f.with_nullable(True) if out[f.name].null_count() else f for f in arrow_schema(table)]
    )
    return arrow.cast(schema)


def _empty_table(table: Table) -> pa.Table:
    return pa.Table.from_pylist([], schema=arrow_schema(table))


# --- the import ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    source: Path
    mapping: Path
    out: Path
    tables: dict[str, TableReport]
    meta: ExtractMeta

    def as_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "mapping": str(self.mapping),
            "extract": str(self.out),
            "force": self.meta.force,
            "as_of": self.meta.as_of.isoformat() if self.meta.as_of else None,
            "tables": {
                name: {
                    "mapped": t.mapped,
                    "files": t.files,
                    "rows_read": t.rows_read,
                    "blank_rows": t.blank_rows,
                    "rows_written": t.rows_written,
                    "columns_left_null": t.null_columns,
                    "source_columns_not_used": t.unused_source_columns,
                    "unmapped_values": {
                        c: _shown_values(r.unmapped) for c, r in t.columns.items() if r.unmapped
                    },
                    "unreadable_values": {
                        c: {"rows": r.unread, "first": r.unread_rows}
                        for c, r in t.columns.items()
                        if r.unread
                    },
                    "mapping_values_not_seen": {
                        c: r.unused_values for c, r in t.columns.items() if r.unused_values
                    },
                }
                for name, t in self.tables.items()
            },
        }

    def _columns(
        self, keep: Callable[[ColumnReport], object]
    ) -> list[tuple[str, str, ColumnReport]]:
        """(table, column, report) of every column whose report ``keep`` holds for."""
        return [
            (name, c, r) for name, t in self.tables.items() for c, r in t.columns.items() if keep(r)
        ]

    def text(self) -> str:
        lines = [f"chi import: {self.source} -> {self.out} (mapping {self.mapping})", ""]
        header = ["table", "files", "rows read", "blank rows", "rows written"]
        rows = [
            [
                name,
                str(len(t.files)),
                f"{t.rows_read:,}",
                f"{t.blank_rows:,}",
                f"{t.rows_written:,}",
            ]
            for name, t in self.tables.items()
        ]
        widths = [max(len(h), *(len(c[i]) for c in rows)) for i, h in enumerate(header)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for cells in rows:
            lines.append("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)))
        lines.append("")
        for name, t in self.tables.items():
            if not t.mapped:
                lines.append(f"{name}: not in the mapping; written empty")
            if t.null_columns:
                lines.append(f"{name}: left null (no source column): {', '.join(t.null_columns)}")
            if t.unused_source_columns:
                lines.append(
                    f"{name}: source columns not used: {', '.join(t.unused_source_columns)}"
                )
        unmapped = self._columns(lambda r: r.unmapped)
        lines.append("")
        if unmapped:
            lines.append("values no mapping covers (written as they are; validation rejects them):")
            for name, c, r in unmapped:
                shown = _shown_values(r.unmapped)
                for value, count in shown["values"].items():
                    lines.append(f"  {name}.{c}: {json.dumps(value, ensure_ascii=False)} {count:,}")
                if shown["suppressed_values"]:
                    where = self.tables[name].columns[c].source
                    k, rows_hidden = shown["suppressed_values"], shown["suppressed_rows"]
                    lines.append(
                        f"  {name}.{c}: {k} {'more ' if shown['values'] else ''}"
                        f"value{'s' if k != 1 else ''} in {rows_hidden:,} "
                        f"row{'s' if rows_hidden != 1 else ''}, not shown ("
                        + (
                            f"more than {MAX_SHOWN_VALUES} different values: is the column "
                            "mapped to the right contract column? "
                            if shown.get("many")
                            else f"each is in fewer than {SMALL_COUNT} rows; "
                        )
                        + f"look in the export's column {json.dumps(where)})"
                    )
        else:
            lines.append("every categorical value is covered by the contract or the mapping")
        unread = self._columns(lambda r: r.unread)
        if unread:
            lines.append("")
            lines.append("values that could not be read as their type (written null):")
            for name, c, r in unread:
                col = TABLES[name].column(c)
                what = {"date": "a date", "bool": "a flag", "int": "a whole number"}[col.type]
                lines.append(
                    f"  {name}.{c}: {r.unread:,} not {what} (first: {'; '.join(r.unread_rows)})"
                )
        unseen = self._columns(lambda r: r.unused_values)
        if unseen:
            lines.append("")
            lines.append("mapping values never seen in the source:")
            for name, c, r in unseen:
                lines.append(
                    f"  [{name}.values.{c}]: {', '.join(json.dumps(v) for v in r.unused_values)}"
                )
        lines.append("")
        lines.append(f"next: chi validate {self.out}")
        return "\n".join(line.rstrip() for line in lines) + "\n"


def _shown_values(counts: Counter[str]) -> dict[str, Any]:
    """The values seen in at least ``SMALL_COUNT`` rows, most frequent first; the rest only
    counted. Applied to every column, personal or not: a source column mapped to the wrong
    contract column (names into ``status``) must not put personal values in the report. A
    coded column has a handful of values; more than ``MAX_SHOWN_VALUES`` different uncovered
    values means the column holds something else (names, ids), so none is shown, however
    often a common name recurs."""
    if len(counts) > MAX_SHOWN_VALUES:
        return {
            "values": {},
            "suppressed_values": len(counts),
            "suppressed_rows": counts.total(),
            "many": True,
        }
    shown = {
        v: n for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= SMALL_COUNT
    }
    hidden = [n for v, n in counts.items() if v not in shown]
    return {"values": shown, "suppressed_values": len(hidden), "suppressed_rows": sum(hidden)}


def import_extract(source: Path, mapping: Mapping, out: Path) -> ImportReport:
    """Read the export in ``source`` by ``mapping`` and write the extract ``out``."""
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise SourceError(f"{source}: not a folder (SOURCE is the folder of exported files)")
    if out.exists():
        raise SourceError(f"{out}: already exists; give a new folder for the extract")
    frames: dict[str, pl.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    for name, tm in mapping.tables.items():
        frames[name], reports[name] = _load_table(source, mapping, tm)
    tmp = out.parent / f".importing-{out.name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.mkdir()
    try:
        for name, table in TABLES.items():
            if name in mapping.tables:
                arrow = _convert_table(
                    frames[name], mapping.tables[name], mapping.source, reports[name]
                )
                reports[name].rows_written = arrow.num_rows
            else:
                arrow = _empty_table(table)
                reports[name] = TableReport(name=name, mapped=False)
            pq.write_table(arrow, tmp / f"{name}.parquet")
        reports = {name: reports[name] for name in TABLES}
        if mapping.meta.force is not None or mapping.meta.as_of is not None:
            mapping.meta.dump(tmp)
        report = ImportReport(
            source=source, mapping=mapping.path, out=out, tables=reports, meta=mapping.meta
        )
        (tmp / f"{REPORT_NAME}.txt").write_text(report.text(), encoding="utf-8")
        (tmp / f"{REPORT_NAME}.json").write_text(
            json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _load_table(
    source: Path, mapping: Mapping, tm: TableMapping
) -> tuple[pl.DataFrame, TableReport]:
    name = tm.table.name
    files = _match_files(source, tm.file)
    if not files:
        raise MappingError(
            f"{mapping.where(name, 'file')}: [{name}] file = {json.dumps(tm.file)} matches no "
            f"file in {source}"
        )
    report = TableReport(name=name)
    parts: list[pl.DataFrame] = []
    used: set[str] = set(tm.columns.values())
    present: set[str] = set()
    for path in files:
        rel = path.relative_to(source).as_posix()
        frame = _read(path, mapping, tm)
        present |= set(frame.columns)
        for column, src in tm.columns.items():
            if src not in frame.columns:
                raise MappingError(
                    f"{mapping.where(name, 'columns', column)}: [{name}.columns] {column} = "
                    f"{json.dumps(src)}: no column {json.dumps(src)} in {rel} "
                    f"(its columns: {', '.join(frame.columns)})"
                )
        report.files.append(rel)
        report.rows_read += frame.height
        frame = frame.select(sorted(used)).with_columns(
            pl.lit(rel).alias("_file"), pl.int_range(1, frame.height + 1).alias("_row")
        )
        if used:
            blank = pl.all_horizontal(
                [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in used]
            )
            report.blank_rows += int(frame.select(blank.sum()).item() or 0)
            frame = frame.filter(~blank)
        parts.append(frame)
    report.unused_source_columns = sorted(present - used)
    return pl.concat(parts, how="vertical"), report


def template() -> str:
    """A commented mapping for the contract: every table and column, with its meaning."""
    out: list[str] = [
        "# chi import mapping: how a force's export becomes a contract-v1 extract.",
        "# Run: chi import SOURCE --mapping this.toml --out EXTRACT",
        "# Each contract column = the source column that feeds it; a contract column with no",
        "# source column is left null (and rejected by chi validate where the contract needs it).",
        "",
        "[source]",
        'format = "csv"                 # csv | xlsx | parquet',
        'encoding = "utf-8"             # csv; e.g. "cp1252" for a CSV saved by Excel',
        'delimiter = ","                # csv',
        'date_format = "%d/%m/%Y"       # strptime; ISO dates (2024-03-05) are always accepted',
        'true_values = ["Y", "Yes"]     # besides true/false/1/0, any case',
        'false_values = ["N", "No"]',
        "",
        "[extract]",
        'force = "Your force"',
        'as_of = "2024-12-31"           # the date the export was taken',
    ]
    for table in TABLES.values():
        out += [
            "",
            f"[{table.name}]                      # {table.description}"
            + (" (may be left out)" if table.may_be_empty else ""),
            f'file = "{table.name}.csv"         # a file name or a glob inside SOURCE',
            '# sheet = "Sheet1"             # xlsx: which sheet (default: the first)',
            "",
            f"[{table.name}.columns]              # contract column = source column",
        ]
        for c in table.columns:
            need = "nullable" if c.nullable else "required"
            note = f"{c.type}, {need}: {c.description}"
            if c.allowed is not None:
                note += f" ({', '.join(c.allowed)})"
            out.append(f'{c.name} = "{c.name}"'.ljust(32) + f"# {note}")
        for c in table.columns:
            if c.allowed is not None:
                out += [
                    "",
                    f"# [{table.name}.values.{c.name}]    # source value = contract value",
                    f'# "Source word" = "{c.allowed[0]}"',
                ]
        out += [
            "",
            f"# [{table.name}.constants]          # one value for every row, e.g.",
            f'# {table.columns[1].name} = "..."',
        ]
    return "\n".join(out) + "\n"
