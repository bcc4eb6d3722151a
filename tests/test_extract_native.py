"""The reader takes a column stored in its logical type as it is (issue 15a), and gets exactly
what casting the column's text would give.

``src_<table>`` reads a date32 date, an integer of any width and a boolean without turning
them into text; every other physical type is parsed from its text with
:func:`chi.sql.cast_expression`. Both paths must agree on every value, null or not, and on
the text kept for a value that does not cast. Here one table is split over files that store
the same columns in different physical types (edge values included: years 1, 999, 1000,
9999 and beyond, integers that overflow ``integer``, nulls), and ``src_crimes`` is compared
row by row with the text path over ``raw_crimes``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factory import crime, person, victim, write_extract

from chi.contract import DUCKDB_TYPES, TABLES
from chi.extract.read import locate, register
from chi.sql import cast_expression, identifier

DATES = [
    date(1, 1, 1),
    date(999, 12, 31),
    date(1000, 1, 1),
    date(1899, 12, 31),
    date(2024, 2, 29),
    date(9999, 12, 31),
    None,
]
INTS = [0, 1, -1, 32767, 2**31 - 1, -(2**31), None]
WIDE_INTS = [2**31, -(2**31) - 1, 2**62, None, 5, 7, 9]


def _column(kind: pa.DataType, values: list[Any] | pa.Array) -> pa.Array:
    if isinstance(values, pa.Array):
        return values.cast(kind)
    return pa.array(values, type=kind)


def _crimes_file(path: Path, n: int, kinds: dict[str, pa.DataType], values: dict[str, Any]) -> None:
    table = TABLES["crimes"]
    arrays, fields = [], []
    for c in table.columns:
        if c.name in kinds:
            arrays.append(_column(kinds[c.name], values[c.name][:n]))
            fields.append(pa.field(c.name, kinds[c.name]))
        elif c.name == "crime_id":
            arrays.append(pa.array([f"{path.stem}-{i}" for i in range(n)]))
            fields.append(pa.field(c.name, pa.string()))
        else:
            arrays.append(pa.array(["x"] * n if not c.nullable else [None] * n, type=pa.string()))
            fields.append(pa.field(c.name, pa.string()))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_extract(
        tmp_path_factory.mktemp("native") / "x",
        [crime("C1", "2024-03-05")],
        [person("P1")],
        [victim("C1", "P1")],
    )
    (folder / "crimes.parquet").unlink()
    parts = folder / "crimes"
    parts.mkdir()
    n = len(DATES)
    dates = dict.fromkeys(("recorded_date", "occurred_date", "outcome_date"), DATES)
    bools = [True, False, None, True, False, True, None]
    base = {**dates, "domestic_abuse": bools, "hate": bools}
    # Native: date32, every integer width, booleans.
    for i, kind in enumerate([pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint16()]):
        ints = [v for v in INTS if v is None or _fits(v, kind)] + [3] * n
        _crimes_file(
            parts / f"native-{i}.parquet",
            n,
            {
                "recorded_date": pa.date32(),
                "occurred_date": pa.date32(),
                "outcome_date": pa.date32(),
                "domestic_abuse": pa.bool_(),
                "hate": pa.bool_(),
                "outcome_code": kind,
            },
            {**base, "outcome_code": ints},
        )
    _crimes_file(
        parts / "wide.parquet",
        n,
        {"outcome_code": pa.int64(), "recorded_date": pa.date32()},
        {"outcome_code": WIDE_INTS, "recorded_date": DATES},
    )
    # Days far before year 1 and after 9999, which only a date32 can hold.
    far = [-1_000_000, -719_163, 2_932_896, 3_000_000, 2 * 10**9, None, -(2 * 10**9)]
    days = pa.array(far, pa.int32())
    _crimes_file(
        parts / "far.parquet",
        n,
        {"recorded_date": pa.date32()},
        {"recorded_date": days.cast(pa.date32())},
    )
    # Text path: timestamps (midnight or not), strings, floats.
    stamps = [datetime(2024, 1, 1), datetime(2024, 1, 1, 10, 30), None] * 3
    _crimes_file(
        parts / "stamps.parquet",
        n,
        {"recorded_date": pa.timestamp("us"), "outcome_code": pa.float64()},
        {"recorded_date": stamps, "outcome_code": [4.0, 3.5, None, 1e10, -2.0, 0.0, 7.0]},
    )
    _crimes_file(
        parts / "text.parquet",
        n,
        {
            "recorded_date": pa.string(),
            "outcome_code": pa.string(),
            "domestic_abuse": pa.string(),
        },
        {
            "recorded_date": [
                "2024-01-01",
                "2024-13-01",
                "",
                None,
                "5477784-01-06",
                "x",
                "2024-1-1",
            ],
            "outcome_code": ["4", "4.0", " 7 ", "0x0A", "1e1", "", None],
            "domestic_abuse": ["true", "FALSE", "1", "0", "yes", "", None],
        },
    )
    return folder


def _fits(v: int, kind: pa.DataType) -> bool:
    info = {
        pa.int8(): (-(2**7), 2**7 - 1),
        pa.int16(): (-(2**15), 2**15 - 1),
        pa.int32(): (-(2**31), 2**31 - 1),
        pa.int64(): (-(2**63), 2**63 - 1),
        pa.uint16(): (0, 2**16 - 1),
    }[kind]
    return info[0] <= v <= info[1]


def _text_path(table_name: str) -> str:
    cols = []
    for c in TABLES[table_name].columns:
        q = identifier(c.name)
        cols.append(f"cast({cast_expression(c.type, q)} as {DUCKDB_TYPES[c.type]}) as {q}")
        if c.type != "string":
            cols.append(f"{q} as {identifier(c.name + '__raw')}")
    return f"select {', '.join(cols)}, _file, _row from raw_{table_name}"


def test_typed_columns_read_as_their_text_casts(mixed: Path) -> None:
    con = duckdb.connect()
    register(con, locate(mixed))
    order = "order by _file, _row"
    got = con.sql(f"select * from src_crimes {order}").fetchall()
    want = con.sql(f"select * from ({_text_path('crimes')}) {order}").fetchall()
    assert con.sql("select * from src_crimes").columns == con.sql(_text_path("crimes")).columns
    assert len(got) == 9 * len(DATES)
    assert got == want
    # The cases are there: dates outside 1000-9999 and overflowing integers are null with
    # their text kept, a midnight timestamp is a date and another is not.
    by_file = {(r[-2], r[-1]): r for r in con.sql(f"select * from src_crimes {order}").fetchall()}
    cols = con.sql("select * from src_crimes").columns
    rec, rec_raw = cols.index("recorded_date"), cols.index("recorded_date__raw")
    code, code_raw = cols.index("outcome_code"), cols.index("outcome_code__raw")
    assert by_file[("crimes/native-0.parquet", 5)][rec] == date(2024, 2, 29)
    assert by_file[("crimes/wide.parquet", 1)][code] is None
    assert by_file[("crimes/wide.parquet", 1)][code_raw] == str(2**31)
    assert by_file[("crimes/stamps.parquet", 1)][rec] == date(2024, 1, 1)
    assert by_file[("crimes/stamps.parquet", 2)][rec] is None
    assert by_file[("crimes/stamps.parquet", 2)][rec_raw] is not None
    # A date past the timestamp range is not a valid date (it was an error), stored as a
    # date or as text.
    for key in (("crimes/far.parquet", 5), ("crimes/text.parquet", 5)):
        assert by_file[key][rec] is None
        assert by_file[key][rec_raw].startswith("5477784-01-0")


def test_native_and_text_files_validate_alike(mixed: Path, tmp_path: Path) -> None:
    """The same values stored as text everywhere give the same rejects, row for row."""
    from chi.scoring.prepare import prepare

    as_text = tmp_path / "text"
    as_text.mkdir()
    for item in mixed.iterdir():
        if item.name == "crimes":
            (as_text / "crimes").mkdir()
            for part in item.iterdir():
                t = pq.read_table(part)
                t = t.cast(pa.schema([pa.field(f.name, pa.string()) for f in t.schema]))
                pq.write_table(t, as_text / "crimes" / part.name)
        else:
            (as_text / item.name).write_bytes(item.read_bytes())
    query = (
        "select table_name, key, column_name, reason, value, file, row from rejects order by all"
    )
    results = []
    for folder in (mixed, as_text):
        with prepare(folder) as p:
            results.append(p.con.cursor().sql(query).fetchall())
    native, text = results
    assert len(native) > 20

    # Stored as text, a boolean is written 'true'/'false' and a date its ISO text: the same
    # values, so the same rejects. Left out: the stamps file (pyarrow writes its times with
    # microseconds) and the far dates (pyarrow cannot write them as text).
    def same(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [r for r in rows if "stamps" not in r[5] and "far" not in r[5]]

    assert len(same(native)) > 20
    assert same(native) == same(text)
