"""The lists, exits, rejects and staged tables are identical, table for table, to the
implementation before change-point windows and one-pass validation (issue 15).

The reference is the original SQL and check loop, kept unchanged in ``tests/ref_v1``; each
case prepares the same extract twice (once through the reference validator and list SQL,
once through the current code) and compares every column of every row, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ref_v1 import validate_v1
from ref_v1.score_v1 import reference_lists

import chi.extract.validate as validate_module
import chi.scoring.prepare
import chi.scoring.score as score_module
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.prepare import Prepared, prepare
from chi.scoring.runs import LIST_FILES, publish
from chi.scoring.score import Lists, complete_months, score

LISTS = ("victim_list", "victim_exits", "offender_list", "dyads")


@contextmanager
def _reference_prepare(
    folder: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Prepared]:
    with monkeypatch.context() as m:
        m.setattr(chi.scoring.prepare, "validate", validate_v1.validate)
        with prepare(folder, policy=policy) as p:
            yield p


def _table(p: Prepared, query: str) -> pa.Table:
    return p.con.cursor().sql(query).to_arrow_table()


STAGED = {
    "rejects": "select * from rejects order by table_name, file, row, column_name, reason, key",
    "crimes": "select * from crimes order by crime_id, recorded_date",
    "persons": "select * from persons order by person_id",
    "victims": "select * from victims order by crime_id, person_id, dash_risk",
    "suspects": "select * from suspects order by crime_id, person_id, role",
    "victimisations": "select * from victimisations",
}


def _snapshot(p: Prepared, lists: Lists) -> dict[str, pa.Table]:
    out = {name: getattr(lists, name) for name in LISTS}
    out.update({name: _table(p, q) for name, q in STAGED.items()})
    return out


def _assert_same(new: dict[str, pa.Table], ref: dict[str, pa.Table]) -> None:
    for name, want in ref.items():
        got = new[name]
        assert got.schema == want.schema, f"{name}: schema differs"
        assert got.num_rows == want.num_rows, f"{name}: {got.num_rows} rows, want {want.num_rows}"
        for col in want.column_names:
            a, b = got.column(col).to_pylist(), want.column(col).to_pylist()
            if a != b:
                i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
                raise AssertionError(f"{name}.{col} differs at row {i}: {a[i]!r} != {b[i]!r}")
        assert got.equals(want), name


def _compare(
    folder: Path,
    policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
    months: slice = slice(None),
    runs: Path | None = None,
) -> dict[str, pa.Table]:
    with _reference_prepare(folder, policy, monkeypatch) as p:
        wanted = complete_months(p)[months]
        ref_lists = reference_lists(p, wanted)
        ref = _snapshot(p, ref_lists)
        ref_counts = {k: (c.read, c.accepted, c.rejected) for k, c in p.counts.items()}
    with prepare(folder, policy=policy) as p:
        assert complete_months(p)[months] == wanted
        lists = score(p, wanted)
        new = _snapshot(p, lists)
        assert {k: (c.read, c.accepted, c.rejected) for k, c in p.counts.items()} == ref_counts
        run = publish(p, lists, runs) if runs is not None else None
    _assert_same(new, ref)
    if run is not None:
        # The published list files are byte for byte what the reference tables give when
        # written one by one as before.
        assert runs is not None
        for name in LIST_FILES:
            want = runs / f"reference-{name}.parquet"
            pq.write_table(getattr(ref_lists, name), want, compression="zstd")
            assert (run / f"{name}.parquet").read_bytes() == want.read_bytes(), name
    return new


def test_demo_extract_lists_identical_to_reference(
    generated_extract: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    new = _compare(generated_extract, Policy(), monkeypatch, runs=tmp_path)
    # The comparison means something only if every list has rows, with both statuses.
    for name in LISTS:
        assert new[name].num_rows > 100, name
    for name in ("victim_list", "offender_list", "dyads"):
        assert set(new[name].column("status").to_pylist()) == {"new", "continuing"}
    assert new["rejects"].num_rows > 0


@pytest.fixture(scope="module")
def other_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("equivalence") / "extract"
    generate_extract(out, GenerateOptions(seed=23, start="2021-11", months=15, scale=0.4))
    return out


@pytest.mark.parametrize(
    ("policy", "months"),
    [
        (
            Policy(
                window_months=3,
                min_harm=Decimal("20"),
                min_crimes=2,
                historic_months=6,
                historic_counted=False,
                offender_min_harm=Decimal("50"),
                offender_min_crimes=2,
                rfg_recency=2.0,
                rfg_frequency=0.5,
                rfg_gravity=1.0,
            ),
            slice(4, 11),
        ),
        (Policy(window_months=1, min_crimes=1, min_harm=Decimal("0")), slice(None)),
        (Policy(window_months=13, min_harm=Decimal("1000.5")), slice(-3, None)),
    ],
    ids=["short-window-historic-excluded", "one-month-everyone", "long-window-last-months"],
)
def test_other_policies_and_month_ranges_identical_to_reference(
    other_extract: Path, policy: Policy, months: slice, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = _compare(other_extract, policy, monkeypatch, months)
    for name in LISTS:
        assert new[name].num_rows > 0, name


def test_one_statement_at_a_time_identical_to_reference(
    other_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The large-extract path: validation and the lists with one worker (the other tests run
    them side by side, as a small extract does)."""
    monkeypatch.setattr(score_module, "SIDE_BY_SIDE_BELOW", 0)
    monkeypatch.setattr(validate_module, "VALIDATE_WORKERS", 1)
    with prepare(other_extract, policy=Policy()) as p:
        assert score_module.list_workers(p) == 1
    new = _compare(other_extract, Policy(), monkeypatch)
    for name in LISTS:
        assert new[name].num_rows > 0, name


def test_lists_run_side_by_side_below_a_million_victim_rows(
    other_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with prepare(other_extract, policy=Policy()) as p:
        victims = p.counts["victims"].accepted
        assert 0 < victims < score_module.SIDE_BY_SIDE_BELOW
        assert score_module.list_workers(p) == 2
        monkeypatch.setattr(score_module, "SIDE_BY_SIDE_BELOW", victims + 1)
        assert score_module.list_workers(p) == 2
        monkeypatch.setattr(score_module, "SIDE_BY_SIDE_BELOW", victims)
        assert score_module.list_workers(p) == 1
