"""Reading and validating extracts: physical types, clear errors, rejects that reconcile."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factory import crime, person, suspect, victim, write_extract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chi import sql
from chi.contract import TABLES, ContractError, ExtractMeta
from chi.scoring.prepare import prepare


def rejects(folder: Path) -> list[tuple[str, str, str, str]]:
    with prepare(folder) as p:
        return [
            (t, k, c, r)
            for t, k, c, r in p.con.cursor()
            .sql("select table_name, key, column_name, reason from rejects order by all")
            .fetchall()
        ]


def test_every_contract_rule_rejects_with_a_reason(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path,
        crimes=[
            crime("OK", "2024-05-01"),
            crime("FUTURE", "2025-01-02", occurred="2024-12-30"),
            crime("BACKWARDS", "2024-05-01", occurred="2024-05-03"),
            crime("NOCODE", "2024-05-01", offence_code=None, ho_class=None),
            crime("BADSTATUS", "2024-05-01", status="deleted"),
            crime("BADREL", "2024-05-01", domestic_abuse=True, da_relationship="neighbour"),
            crime("BADOUTCOME", "2024-05-01", outcome_code=23, outcome_date="2024-06-01"),
            crime("OK", "2024-05-02"),  # duplicate key: the later copy (row 8) is rejected
        ],
        persons=[
            person("P1"),
            person("P2", sex="Q", ethnicity="martian"),
            person("P3", person_type="company"),
        ],
        victims=[
            victim("OK", "P1", "extreme"),
            victim("OK", "NOBODY"),
            victim("FUTURE", "P1"),
            victim("OK", "P1"),  # same key as the first row, which is rejected: kept
        ],
        suspects=[suspect("OK", "P1", "witness")],
    )
    got = rejects(folder)
    assert got == sorted(
        [
            ("crimes", "BACKWARDS", "occurred_date", "occurred after recorded (2024-05-01)"),
            ("crimes", "BADOUTCOME", "outcome_code", "out of range 1-22"),
            (
                "crimes",
                "BADREL",
                "da_relationship",
                "not an allowed value (intimate_partner, ex_partner, family, other)",
            ),
            (
                "crimes",
                "BADSTATUS",
                "status",
                "not an allowed value (recorded, cancelled, transferred)",
            ),
            ("crimes", "FUTURE", "recorded_date", "after the extract as-of date"),
            ("crimes", "NOCODE", "offence_code", "no offence_code or ho_class"),
            ("crimes", "OK", "crime_id", "duplicate key (first copy kept: crimes.parquet row 1)"),
            (
                "persons",
                "P2",
                "ethnicity",
                "not an allowed value (asian, black, mixed, white, other, not_stated)",
            ),
            ("persons", "P2", "sex", "not an allowed value (F, M, X)"),
            ("persons", "P3", "person_type", "not an allowed value (individual, organisation)"),
            ("suspects", "OK|P1", "role", "not an allowed value (suspect, offender, charged)"),
            ("victims", "FUTURE|P1", "crime_id", "crime_id refers to a rejected crime"),
            ("victims", "OK|NOBODY", "person_id", "person_id not found in persons"),
            ("victims", "OK|P1", "dash_risk", "not an allowed value (standard, medium, high)"),
        ]
    )
    with prepare(folder) as p:
        counts = {k: (c.read, c.accepted, c.rejected) for k, c in p.counts.items()}
    assert counts == {
        "crimes": (8, 1, 7),
        "persons": (3, 1, 2),
        # The first OK|P1 has a bad DASH grade, so the second (clean) copy is the one kept.
        "victims": (4, 1, 3),
        "suspects": (1, 0, 1),
    }


def _write_parts(folder: Path, name: str, parts: list[pa.Table]) -> None:
    (folder / name).mkdir(parents=True)
    for i, t in enumerate(parts):
        pq.write_table(t, folder / name / f"part-{i}.parquet")


def test_reader_accepts_other_physical_types_and_rejects_lossy_values(tmp_path: Path) -> None:
    good = write_extract(
        tmp_path,
        crimes=[],
        persons=[person("P1")],
        victims=[],
    )
    (good / "crimes.parquet").unlink()
    base: dict[str, list[Any]] = {
        "offence_code": ["8N.8.6.0"] * 2,
        "ho_class": [None, None],
        "lsoa_code": [None, None],
        "domestic_abuse": [False, True],
        "da_relationship": [None, "family"],
        "hate": [False, False],
        "status": ["recorded"] * 2,
        "outcome_date": [None, None],
    }
    # File 1: dates as timestamps at midnight, outcome as int32 -> accepted.
    t1 = pa.table(
        {
            "crime_id": ["A1", "A2"],
            "recorded_date": pa.array([dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 2)]),
            "occurred_date": pa.array([dt.datetime(2024, 5, 1), None], pa.timestamp("ms")),
            "outcome_code": pa.array([None, 18], pa.int32()),
            "extra_column": [1, 2],
            **base,
        }
    )
    # File 2: everything as strings; one timestamp not at midnight, one bad bool.
    t2 = pa.table(
        {
            **{
                k: pa.array([str(v[0]) if v[0] is not None else None] * 3, pa.string())
                for k, v in base.items()
            },
            "crime_id": ["B1", "B2", "B3"],
            "recorded_date": ["2024-05-03", "2024-05-03 14:30:00", "2024-05-04"],
            "occurred_date": pa.array([None, None, None], pa.string()),
            "outcome_code": ["3", None, "x"],
            "domestic_abuse": ["true", "false", "yes please"],
        }
    )
    _write_parts(good, "crimes", [t1, t2])
    with prepare(good) as p:
        accepted = (
            p.con.cursor()
            .sql(
                "select crime_id, recorded_date, outcome_code, domestic_abuse "
                "from crimes order by 1"
            )
            .fetchall()
        )
        bad = (
            p.con.cursor()
            .sql("select key, column_name, reason, value, file, row from rejects order by all")
            .fetchall()
        )
    assert accepted == [
        ("A1", dt.date(2024, 5, 1), None, False),
        ("A2", dt.date(2024, 5, 2), 18, True),
        ("B1", dt.date(2024, 5, 3), 3, True),
    ]
    assert bad == [
        (
            "B2",
            "recorded_date",
            "not a valid date",
            "2024-05-03 14:30:00",
            "crimes/part-1.parquet",
            2,
        ),
        ("B3", "domestic_abuse", "not a valid bool", "yes please", "crimes/part-1.parquet", 3),
        ("B3", "outcome_code", "not a valid int", "x", "crimes/part-1.parquet", 3),
    ]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("missing_table", "table 'suspects' is missing"),
        ("missing_column", "column hate missing from 'crimes'"),
        ("not_parquet", "cannot be read as Parquet"),
        ("bad_json", "extract.json: not valid JSON"),
        ("bad_as_of", "as_of '31/12/2024' is not a YYYY-MM-DD date"),
    ],
)
def test_unreadable_extracts_stop_with_one_clear_message(
    tmp_path: Path, breakage: str, message: str
) -> None:
    folder = write_extract(
        tmp_path, crimes=[crime("C1", "2024-05-01")], persons=[person("P")], victims=[]
    )
    if breakage == "missing_table":
        (folder / "suspects.parquet").unlink()
    elif breakage == "missing_column":
        t = pq.read_table(folder / "crimes.parquet").drop_columns(["hate"])
        pq.write_table(t, folder / "crimes.parquet")
    elif breakage == "not_parquet":
        (folder / "persons.parquet").write_text("name,age\nAlice,30\n")
    elif breakage == "bad_json":
        (folder / "extract.json").write_text("{not json")
    elif breakage == "bad_as_of":
        (folder / "extract.json").write_text(json.dumps({"as_of": "31/12/2024"}))
    with pytest.raises(ContractError) as err, prepare(folder):
        pass
    assert message in str(err.value)
    assert str(folder) in str(err.value)


def test_empty_tables_and_an_empty_folder_are_valid(tmp_path: Path) -> None:
    folder = write_extract(tmp_path, crimes=[], persons=[], victims=[], as_of="2024-12-31")
    (folder / "suspects.parquet").unlink()
    (folder / "suspects").mkdir()
    with prepare(folder) as p:
        assert {k: c.read for k, c in p.counts.items()} == dict.fromkeys(TABLES, 0)


def test_as_of_defaults_to_latest_recorded_date(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path,
        crimes=[crime("C1", "2024-05-01"), crime("C2", "2024-07-09")],
        persons=[],
        victims=[],
        as_of=None,
    )
    (folder / "extract.json").unlink()
    assert ExtractMeta.load(folder) == ExtractMeta()
    with prepare(folder) as p:
        assert p.as_of == dt.date(2024, 7, 9)


def test_generated_defects_that_break_the_contract_are_all_rejected(
    generated_extract: Path,
) -> None:
    """Every defect the contract says must be rejected is rejected, and nothing else is."""
    truth = pq.read_table(generated_extract / "truth" / "defects.parquet").to_pylist()
    must_reject = {
        "occurred_after_recorded",
        "date_after_as_of",
        "victim_missing_person",
        "duplicate_key",
        "wrong_type",
    }
    with prepare(generated_extract) as p:
        rejected = {
            (t, k) for t, k in p.con.cursor().sql("select table_name, key from rejects").fetchall()
        }
        accepted_crimes = {
            r[0] for r in p.con.cursor().sql("select crime_id from crimes").fetchall()
        }
        counts = p.counts
    for d in truth:
        if d["kind"] in must_reject:
            assert (d["table"], d["key"]) in rejected, d
        elif d["table"] == "crimes":
            assert d["key"] in accepted_crimes, d
    for c in counts.values():
        assert c.read == c.accepted + c.rejected
    # Only defects cause rejections: every rejected crime or person key is a truth entry, or
    # a victims/suspects row that points at one.
    defect_keys = {(d["table"], d["key"]) for d in truth if d["kind"] in must_reject}
    rejected_crime_ids = {k for t, k in defect_keys if t == "crimes"}
    for t, k in rejected:
        if (t, k) in defect_keys:
            continue
        assert t in ("victims", "suspects"), (t, k)
        assert k.split("|")[0] in rejected_crime_ids, (t, k)


# --- property-based: malformed extracts never crash validation and always reconcile ---

_text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", " ", "=1+1", "2024-02-30"]))
_any_value = st.one_of(
    _text,
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
)


def _column_values(n: int) -> st.SearchStrategy[list[Any]]:
    """A column of one physical type: all text, all ints, all bools or all dates."""
    return st.one_of(
        st.lists(_text, min_size=n, max_size=n),
        st.lists(st.one_of(st.none(), st.integers(-5, 30)), min_size=n, max_size=n),
        st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n),
        st.lists(
            st.one_of(st.none(), st.dates(dt.date(2023, 1, 1), dt.date(2025, 6, 1))),
            min_size=n,
            max_size=n,
        ),
    )


@st.composite
def malformed_table(draw: st.DrawFn, name: str) -> list[pa.Table]:
    """One to three files for a table, each column of a random physical type per file."""
    files = []
    ids = (
        st.sampled_from(["C1", "C2", "C3", None])
        if name != "persons"
        else st.sampled_from(["P1", "P2", None])
    )
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 5))
        cols: dict[str, Any] = {}
        for c in TABLES[name].column_names:
            if c in ("crime_id", "person_id"):
                src = (
                    ids
                    if c == TABLES[name].key[0] or name == "persons"
                    else st.sampled_from(["P1", "P2", "P9", None])
                )
                cols[c] = pa.array(draw(st.lists(src, min_size=n, max_size=n)), pa.string())
            else:
                values = draw(_column_values(n))
                cols[c] = pa.array(values) if any(v is not None for v in values) else pa.nulls(n)
        files.append(pa.table(cols))
    return files


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_malformed_extracts_never_crash_and_always_reconcile(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("malformed")
    for name in TABLES:
        parts = data.draw(malformed_table(name))
        (folder / name).mkdir()
        for i, t in enumerate(parts):
            pq.write_table(t, folder / name / f"part-{i}.parquet")
    ExtractMeta(as_of=dt.date(2024, 12, 31)).dump(folder)
    with prepare(folder) as p:
        for name, c in p.counts.items():
            assert c.read == c.accepted + c.rejected, name
        # Accepted rows satisfy the contract.
        nulls = (
            p.con.cursor()
            .sql(
                "select count(*) from crimes where crime_id is null or recorded_date is null "
                "or status not in ('recorded', 'cancelled', 'transferred')"
            )
            .fetchall()
        )
        assert nulls == [(0,)]
        dupes = (
            p.con.cursor()
            .sql(
                "select count(*) from (select crime_id from crimes group by 1 having count(*) > 1)"
            )
            .fetchall()
        )
        assert dupes == [(0,)]


BLANK_CASES = [
    (None, True),
    ("", True),
    (" ", True),
    ("\t\n", True),
    ("\u00a0", True),  # no-break space (Z)
    ("\u2003 ", True),  # em space
    ("\x1f", True),  # a control character
    ("0", False),
    ("z", False),
    ("P00001", False),
    (" P1", False),
    ("{", False),
    ("~", False),
    ("\u00e9", False),
    ("\t\u00e9", False),
]


@pytest.mark.parametrize(("value", "blank"), BLANK_CASES)
def test_rule_blank_is_null_or_only_space_and_control_characters(
    value: str | None, blank: bool
) -> None:
    con = duckdb.connect()
    sql.run(con, "checks/rule_blank")
    [(got,)] = con.cursor().sql("select rule_blank($v)", params={"v": value}).fetchall()
    assert got is blank


@pytest.mark.parametrize(
    ("value", "fails"),
    [
        (None, False),
        ("", False),
        ("  ", False),
        ("recorded", False),
        ("x", True),
        (" recorded", True),
        ("Recorded", True),
    ],
)
def test_rule_not_allowed_skips_blanks_and_allowed_values(value: str | None, fails: bool) -> None:
    con = duckdb.connect()
    sql.run(con, "checks/rule_not_allowed")
    query = "select rule_not_allowed($v, $allowed)"
    params = {"v": value, "allowed": ["recorded", "cancelled"]}
    [(got,)] = con.cursor().sql(query, params=params).fetchall()
    assert got is fails
