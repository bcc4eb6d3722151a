"""Heavy libraries are imported only where they are used: ``chi --help`` and ``chi score``
never load scipy, altair or scikit-learn (about 1.5 s of CPU between them), and the forecast
package sets passive OpenMP waiting before scikit-learn loads its runtime.

Each check runs the real command line in a fresh interpreter and reads its ``sys.modules``
as it exits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factory import ABH, HOME_A, crime, person, suspect, victim, write_extract

HEAVY = ("scipy", "altair", "sklearn")
PIPELINE = {"chi.scoring.prepare", "chi.extract.validate"}
"""What reading, validating and staging an extract imports: not needed to read a run."""

RUN_CHI = """
import atexit, json, sys
def report():
    named = set(NAMED)
    loaded = sorted({m.split(".")[0] for m in sys.modules} | (named & set(sys.modules)))
    sys.stderr.write("\\nMODULES " + json.dumps(loaded) + "\\n")
atexit.register(report)
from chi.cli import app
sys.argv = ["chi", *sys.argv[1:]]
app()
""".replace("NAMED", json.dumps(sorted(PIPELINE | {"scipy.stats"})))


def _modules(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_CHI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "COLUMNS": "100"},
    )
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("MODULES ")]
    assert lines, done.stderr
    return done, set(json.loads(lines[-1].removeprefix("MODULES ")))


def test_chi_help_imports_no_heavy_library(tmp_path: Path) -> None:
    done, modules = _modules("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "score" in done.stdout
    assert {"typer"} <= modules  # the check sees what was imported
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_chi_score_imports_no_heavy_library(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-03-05", offence_code=ABH), crime("C2", "2024-04-01")],
        persons=[person("A", home_lsoa_code=HOME_A), person("B")],
        victims=[victim("C1", "A"), victim("C2", "A")],
        suspects=[suspect("C1", "B")],
        as_of="2024-06-30",
    )
    out = str(tmp_path / "runs")
    done, modules = _modules("score", str(extract), "--out", out, "--partial", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (Path(done.stdout.strip().splitlines()[-1]) / "manifest.json").is_file()
    assert {"duckdb", "polars", "pyarrow"} <= modules  # it did score
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
    # pyarrow imports pandas (installed with the app) when it builds arrays from Python
    # values; scoring builds its few small tables through polars instead
    assert importlib.util.find_spec("pandas") is not None  # so the next check can fail
    assert "pandas" not in modules
    assert modules >= PIPELINE
    # the profile needs neither scikit-learn nor scipy.stats, nor the scoring pipeline (it
    # reads the run's staged tables)
    run = done.stdout.strip().splitlines()[-1]
    done, modules = _modules(
        "profile", run, "--period", "2024-03:2024-06", "--json", str(tmp_path / "p.json"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["meta"]["crimes"] == 2
    assert "scipy" in modules  # scipy.special, for the tests of the board and escalation
    assert modules.isdisjoint({"sklearn", "scipy.stats"}), modules & {"sklearn", "scipy.stats"}
    assert modules.isdisjoint(PIPELINE), modules & PIPELINE


@pytest.mark.parametrize("preset", [None, "ACTIVE"])
def test_the_forecast_waits_passively_unless_told_otherwise(preset: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    code = "import os, chi.forecast.model; print(os.environ['OMP_WAIT_POLICY'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (preset or "PASSIVE")


def test_a_backtest_without_a_model_imports_no_scikit_learn(tmp_path: Path) -> None:
    # 14 monthly victimisations of one person: list months from the 12th, a 1-month horizon
    months = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(14)]
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i}", f"{m}-05", offence_code=ABH) for i, m in enumerate(months)],
        persons=[person("A", home_lsoa_code=HOME_A)],
        victims=[victim(f"C{i}", "A") for i in range(len(months))],
        suspects=[],
        as_of="2024-02-29",
    )
    done = subprocess.run(
        [sys.executable, "-m", "chi", "score", str(extract), "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = done.stdout.strip().splitlines()[-1]
    out = tmp_path / "bt.json"
    done, modules = _modules(
        "backtest", run, "--no-model", "--horizon", "1", "--k", "1", "--json", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))["results"]
    # list months 2023-12 and 2024-01 (the next month of each is complete by as-of): A is
    # listed in both, and A's crime of the month after is all the harm that came next
    chi_harm = [r for r in results if r["policy"] == "chi_harm"]
    assert [(r["k"], r["months"], r["victimisations_captured"]) for r in chi_harm] == [(1, 2, 2)]
    assert chi_harm[0]["harm_pct"] == 100.0
    assert "polars" in modules  # the check sees what was imported
    assert "sklearn" not in modules
