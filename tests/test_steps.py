"""Steps run side by side after the steps they need (chi.sql.run_steps)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import duckdb
import pytest

from chi import sql
from chi.sql import Step, run_steps


class Log:
    """Start and finish events of each step, in the order they happened."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.most = 0

    def step(self, name: str, *needs: str, seconds: float = 0.0, fail: bool = False) -> Step:
        def run() -> None:
            with self.lock:
                self.events.append(("start", name))
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
                if fail:
                    self.events.append(("failed", name))
                    raise RuntimeError(f"{name} failed")
                self.events.append(("finish", name))

        return Step(name, run, needs)

    def at(self, kind: str, name: str) -> int:
        return self.events.index((kind, name))

    def names(self, kind: str) -> set[str]:
        return {n for k, n in self.events if k == kind}


def test_every_step_starts_after_the_steps_it_needs() -> None:
    log = Log()
    steps = [
        log.step("a", seconds=0.02),
        log.step("b"),
        log.step("c", "a", "b"),
        log.step("d", "c", seconds=0.01),
        log.step("e", "a"),
        log.step("f", "d", "e"),
    ]
    run_steps(steps, workers=2)
    assert log.names("finish") == set("abcdef")
    for step in steps:
        for need in step.needs:
            assert log.at("finish", need) < log.at("start", step.name), (need, step.name)


def test_two_independent_steps_run_at_the_same_time() -> None:
    def meet(barrier: threading.Barrier) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()

        return run

    barrier = threading.Barrier(2, timeout=10)  # broken (an error) unless both wait at once
    run_steps([Step("left", meet(barrier)), Step("right", meet(barrier))], workers=2)
    with pytest.raises(threading.BrokenBarrierError):
        run_steps([Step("alone", meet(threading.Barrier(2, timeout=0.2)))], workers=2)
    with pytest.raises(threading.BrokenBarrierError):  # one worker: one at a time
        barrier = threading.Barrier(2, timeout=0.2)
        run_steps([Step("left", meet(barrier)), Step("right", meet(barrier))], workers=1)


def test_never_more_steps_run_than_workers() -> None:
    log = Log()
    run_steps([log.step(str(i), seconds=0.02) for i in range(6)], workers=2)
    assert log.most == 2
    log = Log()
    run_steps([log.step(str(i), seconds=0.01) for i in range(4)], workers=1)
    assert log.most == 1
    # one worker: the steps run in the order given
    assert [n for k, n in log.events if k == "start"] == ["0", "1", "2", "3"]


def test_after_a_failure_no_step_starts_and_the_running_ones_finish() -> None:
    log = Log()
    steps = [
        log.step("slow", seconds=0.2),
        log.step("broken", seconds=0.01, fail=True),
        log.step("after_broken", "broken"),
        log.step("after_slow", "slow"),
    ]
    with pytest.raises(RuntimeError, match="broken failed"):
        run_steps(steps, workers=2)
    assert log.names("finish") == {"slow"}  # it was running: it finished
    assert log.names("start") == {"slow", "broken"}  # nothing started after the failure


def test_progress_reports_each_finished_step_between_start_and_end() -> None:
    reports: list[tuple[str, float]] = []
    threads: set[threading.Thread] = set()

    def report(step: str, fraction: float) -> None:
        reports.append((step, fraction))
        threads.add(threading.current_thread())

    steps = [Step("a", lambda: None), Step("b", lambda: None, ("a",)), Step("c", lambda: None)]
    run_steps(steps, workers=2, progress=report, start=0.6, end=0.9)
    assert sorted(s for s, _ in reports) == ["a", "b", "c"]
    assert [f for _, f in reports] == pytest.approx([0.7, 0.8, 0.9])
    assert threads == {threading.current_thread()}  # a progress bar is not thread-safe
    reports.clear()
    run_steps(steps, workers=1, progress=report, start=0.6, end=0.9)
    assert reports == [("a", 0.6), ("b", pytest.approx(0.7)), ("c", pytest.approx(0.8))]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step("a", lambda: None), Step("a", lambda: None)], "more than once"),
        ([Step("a", lambda: None, ("z",))], "not given"),
        ([Step("a", lambda: None, ("b",)), Step("b", lambda: None, ("a",))], "each other"),
    ],
)
def test_impossible_plans_are_refused_before_anything_runs(steps: list[Step], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_steps(steps)


def test_one_worker_runs_in_the_calling_thread_first_ready_first() -> None:
    ran: list[tuple[str, threading.Thread]] = []

    def step(name: str, *needs: str) -> Step:
        return Step(name, lambda: ran.append((name, threading.current_thread())), needs)

    run_steps([step("c", "a"), step("a"), step("b"), step("d", "b", "c")], workers=1)
    assert [n for n, _ in ran] == ["a", "c", "b", "d"]  # c is ready as soon as a has run
    assert {t for _, t in ran} == {threading.current_thread()}  # Ctrl-C reaches the statement


def test_one_worker_stops_at_the_first_failure() -> None:
    log = Log()
    steps = [log.step("a"), log.step("broken", fail=True), log.step("c"), log.step("d", "a")]
    with pytest.raises(RuntimeError, match="broken failed"):
        run_steps(steps, workers=1)
    assert log.names("start") == {"a", "broken"}


def test_progress_shows_the_label_when_there_is_one() -> None:
    reports: list[str] = []
    steps = [Step("victim_list_all", lambda: None, label="victim list"), Step("b", lambda: None)]
    for workers in (1, 2):
        reports.clear()
        run_steps(steps, workers=workers, progress=lambda s, f: reports.append(s))
        assert sorted(reports) == ["b", "victim list"]


# Statements side by side on cursors of one DuckDB connection, stopped by chi.sql.interrupt.

ENDLESS = "select sum(i) from range(1000000000000) as t(i)"  # minutes on any machine


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this (the main) thread, as at a terminal."""
    assert threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose statements are stopped after 20 s whatever happens, so that a
    test of stopping them fails in seconds rather than hanging for minutes."""
    con = duckdb.connect()
    watchdog = threading.Timer(20, sql.interrupt, (con,))
    watchdog.start()
    yield con
    watchdog.cancel()


def _statement(con: duckdb.DuckDBPyConnection, ended: dict[str, str], name: str) -> Step:
    def run() -> None:
        try:
            sql.cursor(con).sql(ENDLESS).fetchall()
        except duckdb.InterruptException:
            ended[name] = "interrupted"
            raise
        ended[name] = "finished"

    return Step(name, run)


def test_ctrl_c_stops_the_statements_running_side_by_side(
    sigint_raises: None, con: duckdb.DuckDBPyConnection
) -> None:
    ended: dict[str, str] = {}
    steps = [_statement(con, ended, "a"), _statement(con, ended, "b"), Step("c", lambda: None)]
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    began = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_steps(steps, workers=2, interrupt=lambda: sql.interrupt(con))
    assert time.monotonic() - began < 15  # not the minutes the statements would take
    assert ended == {"a": "interrupted", "b": "interrupted"}
    assert sql.cursor(con).sql("select 42").fetchall() == [(42,)]  # the connection goes on


def test_a_failed_step_stops_the_statement_running_beside_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ended: dict[str, str] = {}

    def broken() -> None:
        time.sleep(0.3)
        raise RuntimeError("broken failed")

    began = time.monotonic()
    with pytest.raises(RuntimeError, match="broken failed"):
        run_steps(
            [_statement(con, ended, "a"), Step("broken", broken)],
            workers=2,
            interrupt=lambda: sql.interrupt(con),
        )
    assert time.monotonic() - began < 15
    assert ended == {"a": "interrupted"}


def test_interrupting_an_idle_connection_leaves_its_next_statements_alone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    idle = sql.cursor(con)
    sql.interrupt(con)
    assert idle.sql("select 1").fetchall() == [(1,)]
    assert sql.cursor(con).sql("select 2").fetchall() == [(2,)]
