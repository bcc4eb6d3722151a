"""One read connection per run in the app: the current run's queries share one locked-down
DuckDB connection (a cursor per query, safe from many threads), it is closed when another
run becomes current (after its last query), and every answer is the same as on a
connection of its own."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, is_dataclass
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
import pytest
from app_fixtures import ARBURY, NORTH, SOUTH, Fixture, shared_fixture
from polars.testing import assert_frame_equal

import chi.reading.lists as lists
from chi.app import data
from chi.reading.lists import (
    Scope,
    dyad_list,
    exited,
    offender_list,
    person_detail,
    run_connection,
    share_run,
    shared_runs,
    unshare_runs,
    victim_briefing,
)
from chi.scoring.runs import Run, make_current, open_run

MONTH = "2024-12"
SCOPES = (Scope.force(), Scope.of(NORTH), Scope.of(SOUTH), Scope.of({ARBURY}))


@pytest.fixture
def runs_dir(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A copy of the app fixture's runs folder with a second run (same files, another id)."""
    fixture: Fixture = shared_fixture(tmp_path_factory)
    runs = tmp_path / "runs"
    shutil.copytree(fixture.runs_dir, runs, symlinks=True)
    second = runs / f"{fixture.run_id}-b"
    shutil.copytree(runs / fixture.run_id, second)
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    manifest["run_id"] = second.name
    (second / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return runs


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The run ids each new DuckDB connection over a run was opened for."""
    calls: list[str] = []
    real = lists._open_connection

    def counting(run: Run) -> duckdb.DuckDBPyConnection:
        calls.append(run.run_id)
        return real(run)

    monkeypatch.setattr(lists, "_open_connection", counting)
    unshare_runs()
    yield calls
    unshare_runs()


def _queries(run: Run) -> list[Callable[[], object]]:
    out: list[Callable[[], object]] = []
    for scope in SCOPES:
        out += [
            partial(victim_briefing, run, MONTH, scope),
            partial(offender_list, run, MONTH, scope),
            partial(dyad_list, run, MONTH, scope),
            partial(exited, run, MONTH, scope),
        ]
    pid = str(victim_briefing(run, MONTH, Scope.force())["person_id"][0])
    out.append(lambda: person_detail(run, pid, MONTH, Scope.force()))
    return out


def _same(a: object, b: object) -> None:
    if isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame)
        assert_frame_equal(a, b)
        return
    if is_dataclass(a) and not isinstance(a, type):  # a PersonDetail: frames and values
        assert type(a) is type(b)
        for f in fields(a):
            _same(getattr(a, f.name), getattr(b, f.name))
        return
    assert a == b


def test_a_shared_run_opens_one_connection_for_every_query(
    runs_dir: Path, opened: list[str]
) -> None:
    run = open_run(runs_dir)
    queries = _queries(run)
    alone = [q() for q in queries]
    assert len(opened) == len(queries) + 1  # unshared: one connection per call
    opened.clear()
    share_run(run)
    for q, want in zip(queries, alone, strict=True):
        _same(q(), want)
        _same(q(), want)
    assert opened == [run.run_id]
    assert shared_runs() == [run.run_id]


def test_many_threads_read_one_shared_connection(runs_dir: Path, opened: list[str]) -> None:
    run = open_run(runs_dir)
    queries = _queries(run)
    want = [q() for q in queries]
    opened.clear()
    share_run(run)
    jobs = [i % len(queries) for i in range(8 * len(queries))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda i: (i, queries[i]()), jobs))
    for i, frame in got:
        _same(frame, want[i])
    assert opened == [run.run_id]


def test_closing_waits_for_the_query_that_is_running(runs_dir: Path, opened: list[str]) -> None:
    run = open_run(runs_dir)
    reader = share_run(run)
    inside, leave = threading.Event(), threading.Event()
    counts: list[int] = []

    def long_query() -> None:
        with run_connection(run) as con:
            inside.set()
            leave.wait(30)
            counts.append(con.sql("select count(*) from victim_list").fetchall()[0][0])

    worker = threading.Thread(target=long_query)
    worker.start()
    assert inside.wait(30)
    assert unshare_runs() == [run.run_id]
    assert not reader.closed  # a query is still using it
    # a query that starts now opens a connection of its own, and is answered
    assert not victim_briefing(run, MONTH, Scope.force()).is_empty()
    assert opened == [run.run_id, run.run_id]
    leave.set()
    worker.join(30)
    assert counts and counts[0] > 0
    assert reader.closed


def test_the_shared_connection_is_locked_down(runs_dir: Path, opened: list[str]) -> None:
    run = open_run(runs_dir)
    share_run(run)
    other = runs_dir.parent / "secret.csv"
    other.write_text("a\n1\n", encoding="utf-8")
    with run_connection(run) as con:
        assert con.sql("select count(*) from victim_list").fetchall()[0][0] > 0
        for query in (
            f"select * from read_csv('{other.as_posix()}')",
            f"copy victim_list to '{run.path.as_posix()}/leak.csv'",
            "set enable_external_access = true",
            "set lock_configuration = false",
        ):
            with pytest.raises(duckdb.Error):
                con.sql(query).fetchall()
    assert not (run.path / "leak.csv").exists()
    assert opened == [run.run_id]


def test_the_app_shares_the_current_run_and_closes_it_when_it_is_no_longer_current(
    runs_dir: Path, opened: list[str]
) -> None:
    first = open_run(runs_dir)
    second = open_run(runs_dir / f"{first.run_id}-b")
    data.use_run(first)
    reader = lists._READERS[first.path]
    assert shared_runs() == [first.run_id]
    data.use_run(second)  # a draft an analyst looks at: not shared, the current one stays
    assert shared_runs() == [first.run_id]
    assert not victim_briefing(second, MONTH, Scope.force()).is_empty()
    assert opened == [first.run_id, second.run_id]
    make_current(runs_dir, second.run_id, by="test")
    data.use_run(first)  # no longer current: its shared connection is closed
    assert shared_runs() == [] and reader.closed
    data.use_run(second)
    assert shared_runs() == [second.run_id]
