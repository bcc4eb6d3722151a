"""Property-based suites (issue 11): the generator over its whole argument space, and the
reader and validator over malformed extracts.

Each runs a bounded number of examples (a few minutes in all on CI's two cores) and asserts
the promises that hold for *every* input, not a hand-picked one:

- the generator never crashes for seeds, starts, 1-13 months and scales 0.05-1, and what
  it writes reconciles (read = accepted + rejected, rows read = rows written);
- an extract with wrong physical types, nulls, out-of-range and lossy values, mixed types
  across the files of a table, damaged or empty files and reserved-looking column names
  ends in exit 0 with counts that reconcile for every table, or exit 2 with one line; never
  a traceback.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from factory import crime, person, suspect, victim
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chi.cli import app
from chi.contract import TABLES, ExtractMeta, arrow_schema
from chi.extract.read import DEFAULT_TZ, locate, register
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.prepare import prepare

runner = CliRunner()


def bounded(max_examples: int) -> settings:
    """A bounded run: no deadline (CI's cores are shared), no example database, so every
    run is the same size."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the generator ---------------------------------------------------------------------------


@bounded(25)
@given(
    seed=st.integers(0, 2**31 - 1),
    year=st.integers(2015, 2025),
    month=st.integers(1, 12),
    months=st.integers(1, 13),
    scale=st.floats(0.05, 1.0),
    defects=st.sampled_from([0.0, 0.01, 0.05]),
)
def test_generator_never_crashes_and_reconciles(
    seed: int, year: int, month: int, months: int, scale: float, defects: float
) -> None:
    options = GenerateOptions(
        seed=seed, start=f"{year}-{month:02d}", months=months, scale=scale, defect_rate=defects
    )
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x"
        summary = generate_extract(out, options)
        with prepare(out) as p:
            for name, c in p.counts.items():
                assert c.reconciles, name
                assert c.read == summary.rows[name], name
            assert p.counts["crimes"].accepted > 0


# --- malformed extracts --------------------------------------------------------------------

ZONES = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-11, minutes=-30))]
TRICKY_TEXT = [
    "3.5", "4.9", "0x0A", "1e1", "4.0", " 7 ", "-0", "99999999999", "true", "FALSE", "1",
    "2024-02-30", "2024-01-01 00:00:00", "2024-01-01T12:00", "0001-01-01", "9999-12-31",
    "nan", "inf", "", "\t", "\x00", "\x1b[31m", "=1+1", "ü", "NULL",
]  # fmt: skip
RESERVED_NAMES = [
    "file_row_number", "ordinality", "_file", "_row", "filename", "rowid", "CRIME_ID",
    "Person_ID", "crime_id__raw", "outcome_code__raw", "", " ", "a.b", "x" * 120, "é",
    "select", "_n", "_c0", "_t",
]  # fmt: skip
PHYSICAL = [
    "text", "large_text", "dictionary", "int64", "int8", "uint64", "float64", "float32",
    "bool", "date", "timestamp", "timestamp_tz", "timestamp_ns_tz", "decimal", "null",
    "binary", "time", "duration", "float16",
]  # fmt: skip


@st.composite
def values_of(draw: st.DrawFn, kind: str, n: int) -> pa.Array:
    """``n`` values of one physical type, nulls included."""

    def many(elements: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), elements), min_size=n, max_size=n))

    text = st.one_of(st.sampled_from(TRICKY_TEXT), st.text(max_size=10))
    if kind in ("text", "large_text", "dictionary"):
        arr = pa.array(many(text), pa.large_string() if kind == "large_text" else pa.string())
        return arr.dictionary_encode() if kind == "dictionary" else arr
    if kind == "int64":
        return pa.array(many(st.integers(-(2**63), 2**63 - 1)), pa.int64())
    if kind == "int8":
        return pa.array(many(st.integers(-128, 127)), pa.int8())
    if kind == "uint64":
        return pa.array(many(st.integers(0, 2**64 - 1)), pa.uint64())
    if kind == "float64":
        return pa.array(many(st.floats(allow_nan=True, allow_infinity=True)), pa.float64())
    if kind == "float32":
        return pa.array(many(st.floats(width=32, allow_nan=True)), pa.float32())
    if kind == "bool":
        return pa.array(many(st.booleans()), pa.bool_())
    if kind == "date":
        return pa.array(many(st.dates()), pa.date32())
    if kind == "timestamp":
        return pa.array(many(st.datetimes()), pa.timestamp("us"))
    if kind == "timestamp_tz":
        zone = draw(st.sampled_from(["UTC", "Europe/London", "Pacific/Kiritimati"]))
        when = st.datetimes(
            min_value=datetime(1800, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        )
        return pa.array(many(when), pa.timestamp("us", tz=zone))
    if kind == "timestamp_ns_tz":
        when = st.datetimes(
            min_value=datetime(1700, 1, 1), max_value=datetime(2250, 1, 1), timezones=st.just(UTC)
        )
        return pa.array(many(when), pa.timestamp("ns", tz="Europe/London"))
    if kind == "time":
        return pa.array(many(st.times()), pa.time64("us"))
    if kind == "duration":
        span = st.timedeltas(min_value=timedelta(days=-(10**5)), max_value=timedelta(days=10**5))
        return pa.array(many(span), pa.duration("us"))
    if kind == "float16":
        half = st.floats(width=16, allow_nan=True, allow_infinity=True)
        return pa.array([None if v is None else np.float16(v) for v in many(half)], pa.float16())
    if kind == "decimal":
        dec = st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False)
        return pa.array(many(dec.map(lambda d: Decimal(d))), pa.decimal128(10, 2))
    if kind == "null":
        return pa.nulls(n)
    if kind == "binary":
        return pa.array(many(st.binary(max_size=6)), pa.binary())
    raise AssertionError(kind)


def _base_rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "crimes": [
            crime("C1", "2024-01-03"),
            crime("C2", "2024-01-09", outcome_code=4, outcome_date="2024-01-20"),
            crime("C3", "2024-02-11", domestic_abuse=True, da_relationship="family"),
            crime("C4", "2024-02-20", status="cancelled"),
            crime("C5", "2024-03-01"),
        ],
        "persons": [person("P1"), person("P2", sex="M"), person("P3", person_type="individual")],
        "victims": [
            victim("C1", "P1"),
            victim("C2", "P1"),
            victim("C3", "P2", "high"),
            victim("C4", "P3"),
            victim("C5", "P2"),
        ],
        "suspects": [suspect("C3", "P3"), suspect("C5", "P1", "charged")],
    }


@dataclass
class Damage:
    table: str
    how: str


@st.composite
def malformed_extracts(draw: st.DrawFn) -> tuple[dict[str, list[pa.Table]], Damage | None]:
    """Per table, one or more files (tables) with some columns replaced by values of other
    physical types and extra columns of reserved-looking names; maybe one damaged file."""
    rows = _base_rows()
    out: dict[str, list[pa.Table]] = {}
    for name, table in TABLES.items():
        full = pa.Table.from_pylist(rows[name], schema=arrow_schema(table))
        parts = draw(st.integers(1, 2)) if full.num_rows > 1 else 1
        cut = draw(st.integers(1, full.num_rows - 1)) if parts == 2 else full.num_rows
        pieces = [full.slice(0, cut)] + ([full.slice(cut)] if parts == 2 else [])
        files = []
        for piece in pieces:
            t = piece
            for col in draw(st.sets(st.sampled_from(table.column_names), max_size=3)):
                kind = draw(st.sampled_from(PHYSICAL))
                i = t.schema.get_field_index(col)
                t = t.set_column(i, col, draw(values_of(kind, t.num_rows)))
            for extra in draw(st.lists(st.sampled_from(RESERVED_NAMES), max_size=3, unique=True)):
                at = draw(st.integers(0, t.num_columns))
                kind = draw(st.sampled_from(PHYSICAL))
                t = t.add_column(at, extra, draw(values_of(kind, t.num_rows)))
            files.append(t)
        out[name] = files
    damage = draw(
        st.one_of(
            st.none(),
            st.builds(
                Damage,
                st.sampled_from(list(TABLES)),
                st.sampled_from(["empty", "truncated", "page", "garbage"]),
            ),
        )
    )
    return out, damage


def _write(folder: Path, tables: dict[str, list[pa.Table]], damage: Damage | None) -> None:
    folder.mkdir()
    for name, files in tables.items():
        if len(files) == 1:
            paths = [folder / f"{name}.parquet"]
        else:
            (folder / name).mkdir()
            paths = [folder / name / f"part-{i}.parquet" for i in range(len(files))]
        for path, t in zip(paths, files, strict=True):
            pq.write_table(t, path, compression="snappy")
        if damage is not None and damage.table == name:
            target = paths[0]
            data = bytearray(target.read_bytes())
            if damage.how == "empty":
                data = bytearray()
            elif damage.how == "truncated":
                data = data[: len(data) // 2]
            elif damage.how == "garbage":
                data = bytearray(b"not parquet at all" * 10)
            else:  # a data page overwritten, the footer intact
                md = pq.read_metadata(target)
                start = md.row_group(0).column(0).data_page_offset
                for i in range(start + 20, min(start + 60, len(data) - 200)):
                    data[i] = 0x5A
            target.write_bytes(bytes(data))
    ExtractMeta(force="Test", as_of=date(2024, 3, 31)).dump(folder)


_COUNTS = re.compile(r"^(crimes|persons|victims|suspects)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s*$")


@bounded(70)
@given(malformed_extracts())
def test_malformed_extracts_reconcile_or_fail_in_one_line(
    case: tuple[dict[str, list[pa.Table]], Damage | None],
) -> None:
    tables, damage = case
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "extract"
        _write(folder, tables, damage)
        result = runner.invoke(app, ["validate", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}, damage {damage.how if damage else None}")
    if result.exit_code == 2:
        lines = [x for x in result.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("chi: "), result.output
        assert damage is not None, result.output  # only a damaged file is fatal
        return
    assert result.exit_code == 0, result.output
    matches = [_COUNTS.match(line) for line in result.output.splitlines()]
    counts = {m.group(1): m.groups()[1:] for m in matches if m}
    assert set(counts) == set(TABLES), result.output
    for name, (read, accepted, rejected, reconciles) in counts.items():
        assert int(read) == sum(t.num_rows for t in tables[name]), name
        assert int(read) == int(accepted) + int(rejected), name
        assert reconciles == "yes"
    event("some rows rejected" if "no rows rejected" not in result.output else "all accepted")


# --- casts: accepted values are exactly what was written ----------------------------------


def _read_column(folder: Path, column: str, timezone: str = DEFAULT_TZ) -> list[Any]:
    """The reader's typed values of one crimes column, in file order."""
    con = duckdb.connect()
    try:
        register(con, locate(folder), timezone=timezone)
        got = con.sql(f"select {column} from src_crimes order by _row").fetchall()
    finally:
        con.close()
    return [r[0] for r in got]


def _crimes_extract(folder: Path, column: str, values: pa.Array) -> Path:
    rows = [crime(f"C{i:04d}", "2024-01-01", occurred=None) for i in range(len(values))]
    table = pa.Table.from_pylist(rows, schema=arrow_schema(TABLES["crimes"]))
    table = table.set_column(table.schema.get_field_index(column), column, values)
    folder.mkdir()
    pq.write_table(table, folder / "crimes.parquet")
    for name in ("persons", "victims", "suspects"):
        empty = pa.Table.from_pylist([], schema=arrow_schema(TABLES[name]))
        pq.write_table(empty, folder / f"{name}.parquet")
    ExtractMeta(force="Test", as_of=date(2999, 12, 31)).dump(folder)
    return folder


@bounded(40)
@given(
    st.lists(
        st.one_of(
            st.integers(-(2**40), 2**40).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(str),
            st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
            st.sampled_from(TRICKY_TEXT),
            st.text(alphabet="0123456789+-.eEx ", max_size=8),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_an_accepted_integer_is_exactly_the_number_written(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = _crimes_extract(Path(d) / "x", "outcome_code", pa.array(texts, pa.string()))
        values = _read_column(folder, "outcome_code")
    for text, value in zip(texts, values, strict=True):
        if value is None:
            continue
        assert Decimal(text.strip()) == value, (text, value)


@bounded(40)
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1980, 1, 1),
            max_value=datetime(2037, 12, 31),
            timezones=st.just(UTC),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe"]),
)
def test_a_tz_aware_timestamp_is_its_date_in_the_force_zone(
    instants: list[datetime], zone: str
) -> None:
    from zoneinfo import ZoneInfo

    arr = pa.array(instants, pa.timestamp("us", tz="UTC"))
    with tempfile.TemporaryDirectory() as d:
        folder = _crimes_extract(Path(d) / "x", "recorded_date", arr)
        values = _read_column(folder, "recorded_date", timezone=zone)
    assert values == [t.astimezone(ZoneInfo(zone)).date() for t in instants]


@bounded(30)
@given(st.lists(st.datetimes(min_value=datetime(1900, 1, 1)), min_size=1, max_size=30))
def test_a_naive_timestamp_is_a_date_only_at_midnight(stamps: list[datetime]) -> None:
    arr = pa.array(stamps, pa.timestamp("us"))
    with tempfile.TemporaryDirectory() as d:
        folder = _crimes_extract(Path(d) / "x", "recorded_date", arr)
        values = _read_column(folder, "recorded_date")
    for stamp, value in zip(stamps, values, strict=True):
        midnight = stamp == datetime(stamp.year, stamp.month, stamp.day)
        assert value == (stamp.date() if midnight else None), (stamp, value)


@bounded(15)
@given(malformed_extracts())
def test_malformed_extracts_score_to_whole_runs_or_one_line(
    case: tuple[dict[str, list[pa.Table]], Damage | None],
) -> None:
    """Past validation: a malformed extract scores and publishes a run whose counts
    reconcile and whose files match its manifest, or stops in one line (no complete month
    of accepted crimes, a damaged file)."""
    import hashlib

    tables, damage = case
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "extract"
        _write(folder, tables, damage)
        result = runner.invoke(
            app, ["score", str(folder), "--out", str(Path(d) / "runs"), "--partial"]
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert "Traceback" not in result.output
        event(f"exit {result.exit_code}")
        if result.exit_code == 2:
            lines = [x for x in result.output.splitlines() if x.strip()]
            assert len(lines) == 1 and lines[0].startswith("chi: "), result.output
            assert damage is not None or "no list months" in lines[0], lines[0]
            return
        assert result.exit_code == 0, result.output
        run = Path(result.output.strip().splitlines()[-1])
        m = json.loads((run / "manifest.json").read_text())
        for name, c in m["counts"].items():
            assert c["read"] == sum(t.num_rows for t in tables[name]), name
            assert c["read"] == c["accepted"] + c["rejected"], name
        for name, out in m["outputs"].items():
            digest = hashlib.sha256((run / f"{name}.parquet").read_bytes()).hexdigest()
            assert digest == out["sha256"], name
