"""``chi decisions import``, ``chi decisions list`` and ``chi impact`` on small inputs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from app_fixtures import Fixture, shared_fixture
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.runs import open_run
from chi.state.store import Store

CSV = """\
person_id,list_month,area,meeting_date,decision,service,owner,notes,review_date
P1,2024-11,North,2024-12-05,referral,MARAC,DS Lee,Sister at the same address,2025-01-05
P2,2024-11,North,2024-12-05,signpost,,PC Shah,,
P3,2024-11,South,05/12/2024,no_further_action,,,,
"""


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return shared_fixture(tmp_path_factory)


def test_import_then_list_with_and_without_notes(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "meetings.csv"
    path.write_text(CSV, encoding="utf-8")
    store = tmp_path / "state.sqlite"
    done = runner.invoke(
        app, ["decisions", "import", str(path), "--store", str(store), "--recorded-by", "mig"]
    )
    assert done.exit_code == 0, done.output
    assert "read 3  imported 2  unchanged 0  rejected 1" in done.stdout
    assert "row 2: a signpost needs the service signposted to (service)" in done.stdout
    shown = runner.invoke(app, ["decisions", "list", "--store", str(store), "--area", "north"])
    assert shown.exit_code == 0
    assert "P1" in shown.stdout and "referral" in shown.stdout and "P3" not in shown.stdout
    assert "Sister" not in shown.stdout
    noted = runner.invoke(app, ["decisions", "list", "--store", str(store), "--notes"])
    assert "Sister at the same address" in noted.stdout
    audit = Store(store).audit_log(actions=["decisions_listed", "decisions_import"])
    assert [a["action"] for a in audit] == [
        "decisions_listed",
        "decisions_listed",
        "decisions_import",
    ]
    assert all(a["username"].startswith("cli") or a["username"] == "mig" for a in audit)


def test_reading_commands_refuse_a_missing_store(tmp_path: Path, fixture: Fixture) -> None:
    runner = CliRunner()
    missing = tmp_path / "typo.sqlite"
    for args in (
        ["decisions", "list", "--store", str(missing)],
        ["impact", str(fixture.runs_dir), "--store", str(missing)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "no state store there" in result.output
    assert not missing.exists()


def test_impact_from_an_engagements_file(tmp_path: Path, fixture: Fixture) -> None:
    run = open_run(fixture.runs_dir)
    listed = pl.read_parquet(run.file("victim_list")).filter(pl.col("month") == "2024-03")
    engaged = listed.select("person_id", pl.col("month").alias("index_month")).head(10)
    path = tmp_path / "engaged.csv"
    engaged.write_csv(path)
    out = tmp_path / "impact.json"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "impact",
            str(fixture.runs_dir),
            "--engagements",
            str(path),
            "--reps",
            "50",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "naive before/after" in said and "regression to the mean" in said
    body = json.loads(out.read_text())
    assert body["run_id"] == run.run_id and body["engaged"] + body["unmatched_engaged"] == 10
    both = runner.invoke(
        app,
        [
            "impact",
            str(fixture.runs_dir),
            "--engagements",
            str(path),
            "--cohort",
            "meeting:2024-03",
        ],
    )
    assert both.exit_code == 2 and "not both" in both.output
