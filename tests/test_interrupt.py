"""Ctrl-C at any moment of ``chi score``: the command ends at once with one line, publishes
nothing and leaves nothing behind (statements running side by side are interrupted too,
not waited for: chi.sql.interrupt)."""

from __future__ import annotations

import signal
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


@pytest.mark.parametrize("share", [0.3, 0.5, 0.7])
def test_ctrl_c_during_chi_score_ends_it_at_once_and_publishes_nothing(
    generated_extract: Path, tmp_path: Path, full_run: float, share: float
) -> None:
    runs = tmp_path / "runs"
    proc = _score(generated_extract, runs)
    time.sleep(full_run * share)  # reading, validating, listing or publishing by now
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    waited = time.monotonic() - sent
    if proc.returncode == 0:  # finished before the signal came: a whole run, published
        assert (Path(out.strip().splitlines()[-1]) / "manifest.json").is_file()
        pytest.fail(f"chi score finished before {share:.0%} of its time; nothing was tested")
    assert proc.returncode == 130, err
    assert err == "chi: interrupted\n"  # one line, no traceback
    assert waited < max(5.0, full_run * 0.5), waited  # stopped, not run to its end
    left = sorted(p.name for p in runs.iterdir()) if runs.exists() else []
    assert set(left) <= {LOCK_FILE}, left  # no run, no pointer, no half-written folder
