"""Draft and current runs: a new run is a draft until an analyst makes it current; every
reader of a runs folder reads the current run; an earlier run can be made current again;
each change is audited (store) and kept in ``RUNS/current.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factory import GBH_S20, HOME_A, crime, person, victim, write_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.policy import Policy
from chi.scoring.runs import (
    RunError,
    current_run_id,
    latest_run_id,
    list_runs,
    make_current,
    open_current,
    open_run,
    score_and_publish,
)
from chi.state.store import Store

runner = CliRunner()


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """A (one GBH, 365 days: high harm) and B (one ABH, 10 days): with min_harm 365 only A
    is listed in May; with min_harm 5 both are."""
    return write_extract(
        tmp_path / "extract",
        crimes=[crime("G1", "2024-05-15", offence_code=GBH_S20), crime("B1", "2024-05-16")],
        persons=[person("A", home_lsoa_code=HOME_A, name="Alice"), person("B", name="Bob")],
        victims=[victim("G1", "A"), victim("B1", "B")],
        as_of="2024-05-31",
    )


def test_first_run_is_current_and_later_runs_are_drafts(extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = score_and_publish(extract, runs, Policy(), "2024-05")
    assert current_run_id(runs) == first.name == latest_run_id(runs)
    second = score_and_publish(extract, runs, Policy(min_harm=5), "2024-05")  # type: ignore[arg-type]
    assert latest_run_id(runs) == second.name, "latest is the newest run"
    assert current_run_id(runs) == first.name, "a new run is a draft"
    assert open_run(runs).run_id == first.name, "a runs folder means its current run"
    assert open_current(runs).run_id == first.name
    assert open_current(runs).table("victim_list").num_rows == 1

    assert make_current(runs, second.name, "ana") == first.name
    assert open_run(runs).run_id == second.name
    assert open_current(runs).table("victim_list").num_rows == 2
    assert make_current(runs, first.name, "ana") == second.name, "an earlier run again"
    assert open_run(runs).run_id == first.name
    assert latest_run_id(runs) == second.name
    history = [json.loads(x) for x in (runs / "current.jsonl").read_text().splitlines()]
    assert [(h["run_id"], h["previous"], h["by"]) for h in history] == [
        (first.name, None, "chi (first run)"),
        (second.name, first.name, "ana"),
        (first.name, second.name, "ana"),
    ]
    assert [r.run_id for r in list_runs(runs)] == [first.name, second.name]


def test_make_current_refuses_what_is_not_a_run(extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = score_and_publish(extract, runs, Policy(), "2024-05")
    for bad in ("../elsewhere", "latest", "current", ".incoming-x", "20990101T000000Z-deadbeef"):
        with pytest.raises(RunError):
            make_current(runs, bad, "ana")
    assert current_run_id(runs) == first.name


def test_a_folder_from_before_drafts_keeps_its_latest_run_current(
    extract: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    first = score_and_publish(extract, runs, Policy(), "2024-05")
    (runs / "current").unlink()  # as a runs folder made before current runs existed
    (runs / "current.jsonl").unlink()
    assert open_run(runs).run_id == first.name, "latest stands in for current"
    second = score_and_publish(extract, runs, Policy(min_harm=5), "2024-05")  # type: ignore[arg-type]
    assert current_run_id(runs) == first.name, "the run users were reading stays current"
    assert latest_run_id(runs) == second.name


def test_publish_command_switches_and_audits(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    config = tmp_path / "chi.toml"
    config.write_text('[app]\nruns_dir = "runs"\nstate_path = "state.sqlite"\n')
    monkeypatch.setenv("CHI_CONFIG", str(config))
    out = runner.invoke(app, ["score", str(extract), "--out", str(runs), "--months", "2024-05"])
    assert out.exit_code == 0, out.output
    first = Path(out.output.strip().splitlines()[-1])
    assert "state: current" in out.output
    out = runner.invoke(
        app,
        ["score", str(extract), "--out", str(runs), "--months", "2024-05", "--min-harm", "5"],
    )
    assert out.exit_code == 0, out.output
    second = Path(out.output.strip().splitlines()[-1])
    assert f"state: draft (analysts only); make it current with: chi publish {second}" in out.output

    listing = runner.invoke(app, ["runs", str(runs)])
    assert listing.exit_code == 0, listing.output
    lines = {ln.split()[0]: ln for ln in listing.output.splitlines()[1:]}
    assert "(current)" in lines[first.name] and " draft " in lines[second.name]
    assert "(latest)" in lines[second.name]
    header = listing.output.splitlines()[0]
    assert "victims listed (last month)" in header
    assert lines[first.name].rstrip().endswith(" 1") and lines[second.name].rstrip().endswith(" 2")

    out = runner.invoke(app, ["publish", str(second)])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == f"{second.name} is now the current run (was {first.name})"
    assert current_run_id(runs) == second.name
    again = runner.invoke(app, ["publish", str(second)])
    assert again.output.strip() == f"{second.name} is already the current run"
    back = runner.invoke(app, ["publish", str(first)])
    assert back.exit_code == 0 and current_run_id(runs) == first.name
    log = Store(tmp_path / "state.sqlite").audit_log(actions=["run_made_current"])
    assert [(r["run_id"], r["detail"]) for r in reversed(log)] == [
        (second.name, f"previous {first.name}"),
        (first.name, f"previous {second.name}"),
    ]
    assert all(r["username"].startswith("cli") for r in log)

    bad = runner.invoke(app, ["publish", str(runs)])
    assert bad.exit_code == 2 and "give a run folder, not a runs folder" in bad.output
    missing = runner.invoke(app, ["publish", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    assert first.is_dir()
