"""Ctrl-C at any moment of ``chi score``: the command ends at once with one line, publishes
nothing and leaves nothing behind (statements running side by side are interrupted too,
not waited for: chi.sql.interrupt)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chi.scoring.runs import LOCK_FILE


def _score(extract: Path, runs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chi", "score", str(extract), "--out", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ctrl_c(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Send Ctrl-C (SIGINT) to ``proc`` and wait for it to end: its stdout and stderr. One
    that has not ended within ``timeout`` seconds is killed and the test fails."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def full_run(generated_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    """Seconds an uninterrupted ``chi score`` of the extract takes here (it must publish)."""
    runs = tmp_path_factory.mktemp("uninterrupted")
    began = time.monotonic()
    done = _score(generated_extract, runs)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert (Path(out.strip().splitlines()[-1]) / "manifest.json").is_file()
    return time.monotonic() - began


# chi score as the command line runs it, but its progress (which a terminal shows as a bar)
# written to a file, one step a line, so that a test can press Ctrl-C in the step it chooses:
# a time measured on another run is no guide (the first run of a process is slower, and the
# machine may be busy), so the step is waited for, not guessed.
TRACED = """
import sys
from contextlib import contextmanager
from pathlib import Path
import chi.progress
from chi.cli import app

@contextmanager
def traced(title):
    def report(step, fraction):
        with Path(sys.argv[1]).open("a", encoding="utf-8") as log:
            log.write(step + "\\n")
    yield report

chi.progress.terminal_progress = traced
app(["score", sys.argv[2], "--out", sys.argv[3]], prog_name="chi")
"""


@pytest.mark.parametrize(
    ("step", "not_reached"),
    [
        ("validating", "staging"),  # reading and checking the extract's tables
        ("staging", "publishing"),  # weighting the crimes, the victimisations
        ("offender list", "publishing"),  # the lists, side by side
        ("publishing", "published"),  # writing the run's files
    ],
)
def test_ctrl_c_during_chi_score_ends_it_at_once_and_publishes_nothing(
    generated_extract: Path, tmp_path: Path, full_run: float, step: str, not_reached: str
) -> None:
    runs, log = tmp_path / "runs", tmp_path / "steps.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", TRACED, str(log), str(generated_extract), str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def steps() -> list[str]:
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    deadline = time.monotonic() + 120
    while step not in steps() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert step in steps(), (steps(), proc.communicate(timeout=60))
    sent = time.monotonic()
    out, err = _ctrl_c(proc, timeout=60)
    waited = time.monotonic() - sent
    assert proc.returncode == 130, (steps(), out, err)
    assert err == "chi: interrupted\n"  # one line, no traceback
    assert not_reached not in steps(), steps()  # it stopped in the step, not after it
    assert waited < max(5.0, full_run * 0.5), waited  # stopped, not run to its end
    left = sorted(p.name for p in runs.iterdir()) if runs.exists() else []
    assert set(left) <= {LOCK_FILE}, left  # no run, no pointer, no half-written folder


# A statement DuckDB is running in the calling thread turns Ctrl-C into its own error
# ("Query interrupted", a RuntimeError): still an interrupt, not an unexpected error.
INLINE = """
import sys
from pathlib import Path
from chi import sql
from chi.cli import app
from chi.scoring import prepare

def endless(con, *args, **kwargs):
    Path(sys.argv[1]).write_text("running")
    sql.cursor(con).sql("select sum(i) from range(1000000000000) as t(i)").fetchall()

prepare._stage = endless
app(["score", sys.argv[2], "--out", sys.argv[3]], prog_name="chi")
"""


# DuckDB itself misses the signal about one time in three while it runs a statement in the main
# thread (it then runs on to the end: here, for ever); chi's watcher stops it every time.
@pytest.mark.parametrize("after", [0.1, 0.3, 0.6, 1.0])
def test_ctrl_c_in_a_statement_duckdb_runs_in_the_calling_thread_is_an_interrupt(
    generated_extract: Path, tmp_path: Path, after: float
) -> None:
    started = tmp_path / "started"
    proc = subprocess.Popen(
        [sys.executable, "-c", INLINE, str(started), str(generated_extract), str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), proc.communicate(timeout=60)
    time.sleep(after)  # inside the statement
    _, err = _ctrl_c(proc, timeout=20)
    assert (proc.returncode, err) == (130, "chi: interrupted\n")


# The same, where it can be seen every time: a statement on a worker thread, which Python's
# signal handler never reaches, is stopped by Ctrl-C only through chi's watcher.
WORKER = """
import threading, time
import duckdb
from chi import sql
from chi.cli.main import _noting_ctrl_c

con = duckdb.connect()
ended = []
done = threading.Event()

def endless():
    try:
        sql.cursor(con).sql("select sum(i) from range(1000000000000) as t(i)").fetchall()
        ended.append("finished")
    except duckdb.InterruptException:
        ended.append("interrupted")
    done.set()

with _noting_ctrl_c() as pressed:
    threading.Thread(target=endless, daemon=True).start()
    print("running", flush=True)
    try:
        while not done.wait(0.1):  # (Thread.join, interrupted, breaks is_alive in 3.11)
            pass
    except KeyboardInterrupt:
        started = time.monotonic()
        stopped = done.wait(10)
        print(pressed.is_set(), ended, stopped, time.monotonic() - started < 5)
"""


def test_ctrl_c_stops_a_statement_running_on_another_thread() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "running\n"
    time.sleep(0.5)
    out, err = _ctrl_c(proc, timeout=30)
    assert (out, err, proc.returncode) == ("True ['interrupted'] True True\n", "", 0)


def test_the_ctrl_c_watch_leaves_the_signal_as_it_found_it() -> None:
    from chi.cli.main import _noting_ctrl_c

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert signal.set_wakeup_fd(-1) == -1
        with _noting_ctrl_c() as pressed:
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            ours = signal.set_wakeup_fd(-1)  # chi's own: looked at and put back
            assert ours != -1
            signal.set_wakeup_fd(ours, warn_on_full_buffer=False)
        assert not pressed.is_set()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.set_wakeup_fd(-1) == -1
        # A wake-up file someone else set (an event loop's) is left alone, and theirs stays.
        theirs_r, theirs_w = socket.socketpair()
        theirs_w.setblocking(False)
        signal.set_wakeup_fd(theirs_w.fileno())
        with _noting_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.set_wakeup_fd(-1) == theirs_w.fileno()
        theirs_r.close()
        theirs_w.close()
    finally:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, before)
