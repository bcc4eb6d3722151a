"""Runs: atomic publishing, manifests, reproduction, diffs, policy files and exports."""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from factory import GBH_S20, HOME_A, LSOA_B, crime, person, victim, write_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.exports import listview
from chi.exports.formats import ExportMeta, neutralise
from chi.reading.lists import Scope, area_scope, victim_briefing, victim_list
from chi.scoring.diff import diff_runs
from chi.scoring.policy import Policy, load_policy
from chi.scoring.runs import RunError, latest_run_id, list_runs, open_run, score_and_publish

runner = CliRunner()


@pytest.fixture
def small_extract(tmp_path: Path) -> Path:
    """Four people in two areas: A (harm 547.5, South), B (3 ABH, North), C (2 ABH, South),
    E (formula-like name, 1 GBH later than A's, North). May's list: E, A (same harm and
    crimes, E's crime is later), B."""
    return write_extract(
        tmp_path / "extract",
        crimes=[
            crime("G1", "2024-03-15", offence_code=GBH_S20),
            crime("B1", "2024-04-01", lsoa_code=LSOA_B),
            crime("B2", "2024-04-02", lsoa_code=LSOA_B),
            crime("B3", "2024-05-03", lsoa_code=LSOA_B),
            crime("C1", "2024-05-04"),
            crime("C2", "2024-05-05"),
            crime("E1", "2024-05-06", offence_code=GBH_S20, lsoa_code=LSOA_B),
        ],
        persons=[
            person("A", home_lsoa_code=HOME_A, name="Alice Example"),
            person("B", name="Bob Example"),
            person("C", name="Carol Example"),
            person("E", name='=HYPERLINK("http://x")', home_lsoa_code=LSOA_B),
        ],
        victims=[
            victim("G1", "A"),
            victim("B1", "B"),
            victim("B2", "B"),
            victim("B3", "B"),
            victim("C1", "C"),
            victim("C2", "C"),
            victim("E1", "E"),
        ],
        as_of="2024-05-31",
    )


def test_publish_is_complete_atomic_and_points_latest(small_extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = score_and_publish(small_extract, runs, Policy())
    assert path.parent == runs
    assert latest_run_id(runs) == path.name
    assert [p.name for p in runs.iterdir() if p.name.startswith(".")] == [".lock"]
    m = json.loads((path / "manifest.json").read_text())
    assert m["months"] == ["2024-03", "2024-04", "2024-05"]
    assert m["policy"]["min_harm"] == "365" and m["policy"]["window_months"] == 12
    assert m["weights"]["name"] == "chi2020" and len(m["weights"]["sha256"]) == 64
    assert m["counts"]["crimes"] == {"read": 7, "accepted": 7, "rejected": 0}
    assert m["weight_basis"] == {"exact": 7}
    files = {f["table"]: f for f in m["extract"]["files"]}
    assert files["crimes"]["rows"] == 7 and len(files["crimes"]["sha256"]) == 64
    for name in ("victim_list", "offender_list", "dyads", "rejects", "victim_exits"):
        assert (path / f"{name}.parquet").is_file()
        assert m["outputs"][name]["sha256"]
    may = pl.read_parquet(path / "victim_list.parquet").filter(pl.col("month") == "2024-05")
    assert may["person_id"].to_list() == ["E", "A", "B"]
    assert may.columns[:11] == [
        "month",
        "person_id",
        "neighbourhood_code",
        "harm_days",
        "crimes",
        "da_crimes",
        "last_recorded_date",
        "rank",
        "neighbourhood_rank",
        "status",
        "reasons",
    ]


def test_a_failed_publish_leaves_no_partial_run(
    small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    first = score_and_publish(small_extract, runs, Policy())

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("chi.scoring.runs._victimisations", boom)
    with pytest.raises(OSError):
        score_and_publish(small_extract, runs, Policy(min_harm=Decimal(1)))
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        [first.name, "latest", "current", "current.jsonl", ".lock"]
    )
    assert latest_run_id(runs) == first.name


def test_rerun_from_manifest_reproduces_identical_list_files(
    small_extract: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    result = runner.invoke(
        app, ["score", str(small_extract), "--out", str(runs), "--min-harm", "100", "--partial"]
    )
    assert result.exit_code == 0, result.output
    first = Path(result.output.strip().splitlines()[-1])
    assert first.is_dir()
    os.utime(small_extract / "crimes.parquet")  # touching a file does not change it
    result = runner.invoke(app, ["rerun", str(first)])
    assert result.exit_code == 0, result.output
    second = Path(result.output.strip().splitlines()[-1])
    assert second != first
    for name in ("victim_list", "victim_exits", "offender_list", "dyads", "rejects"):
        assert (first / f"{name}.parquet").read_bytes() == (second / f"{name}.parquet").read_bytes()
    assert [r.run_id for r in list_runs(runs)] == [first.name, second.name]


def test_rerun_refuses_a_changed_extract(small_extract: Path, tmp_path: Path) -> None:
    run = score_and_publish(small_extract, tmp_path / "runs", Policy())
    write_extract(small_extract, crimes=[], persons=[], victims=[])
    result = runner.invoke(app, ["rerun", str(run)])
    assert result.exit_code == 2
    assert "the extract changed" in result.output


def test_policy_from_file_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "chi.toml"
    cfg.write_text('[policy]\nwindow_months = 6\nmin_harm = 100\nweights = "ons_css"\n')
    p = load_policy(cfg, min_harm="50", min_crimes=None)
    assert (p.window_months, p.min_harm, p.min_crimes, p.weights) == (6, Decimal(50), 3, "ons_css")
    cfg.write_text("[policy]\nwindow = 6\n")
    with pytest.raises(ValueError, match=r"chi.toml: unknown setting policy\.window "):
        load_policy(cfg)
    with pytest.raises(ValueError, match="window_months"):
        Policy(window_months=0)
    assert Policy.from_manifest(Policy(historic_months=24).as_manifest()) == Policy(
        historic_months=24
    )


def test_score_command_errors_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("chi: ") and "not a folder" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["score", str(tmp_path), "--out", str(tmp_path), "--weights", "x"])
    assert result.exit_code == 2 and "unknown weight set 'x'" in result.output


def test_diff_shows_who_entered_and_why(small_extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    a = open_run(score_and_publish(small_extract, runs, Policy()))
    b = open_run(score_and_publish(small_extract, runs, Policy(min_crimes=2)))
    frame = diff_runs(a, b, "2024-05")
    victims = frame.filter(pl.col("list") == "victim")
    assert victims.select("person_id", "change", "harm_a", "crimes_a").rows() == [
        ("C", "entered", Decimal("20.00"), 2)
    ]
    assert victims["why"][0] == "B lists for repeat; A: harm 20.00 < 365 and crimes 2 < 3"
    back = diff_runs(b, a, "2024-05").filter(pl.col("list") == "victim")
    assert back.select("person_id", "change").rows() == [("C", "left")]
    assert back["why"][0] == "A lists for repeat; B: harm 20.00 < 365 and crimes 2 < 3"
    result = runner.invoke(app, ["diff", str(a.path), str(b.path), "--month", "2024-05"])
    assert result.exit_code == 0 and "entered" in result.output


def test_lists_are_scoped_in_the_query(small_extract: Path, tmp_path: Path) -> None:
    run = open_run(score_and_publish(small_extract, tmp_path / "runs", Policy()))
    south = victim_list(run, "2024-05", area_scope("South"))
    north = victim_list(run, "2024-05", area_scope("North"))
    assert south["person_id"].to_list() == ["A"]
    assert sorted(north["person_id"].to_list()) == ["B", "E"]
    assert victim_list(run, "2024-05", Scope()).is_empty()  # no neighbourhoods: nothing
    everyone = victim_list(run, "2024-05", Scope.force())
    assert everyone["person_id"].to_list() == ["E", "A", "B"]
    assert everyone.filter(pl.col("person_id") == "A")["age"].to_list() == [44]


def test_exports_neutralise_formulas_and_carry_metadata(
    small_extract: Path, tmp_path: Path
) -> None:
    run = open_run(score_and_publish(small_extract, tmp_path / "runs", Policy()))
    rows = listview.select(
        victim_briefing(run, "2024-05", Scope.force()), listview.ListView(everyone=True)
    )
    meta = ExportMeta.from_manifest(
        run.manifest, title="Victim list", month="2024-05", scope="force-wide", exported_by="t"
    )
    text = listview.export(rows, meta, "csv", ("specialist_team",)).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert text.startswith("Rank,Name,Person id,New or continuing,Reasons,Harm (days),")
    assert text.splitlines()[0].endswith(",Run,Handling")
    # by neighbourhood (Arbury, Barnack), then rank in it
    assert [r["Person id"] for r in table] == ["A", "E", "B"]
    assert [r["Force rank"] for r in table] == ["2", "1", "3"]
    assert {(r["Run"], r["Handling"]) for r in table} == {(run.run_id, "OFFICIAL-SENSITIVE")}
    assert table[1]["Name"] == '\'=HYPERLINK("http://x")'
    assert table[0]["Harm (days)"] == "547.50" and table[0]["Reasons"] == "high harm"
    book = openpyxl.load_workbook(
        io.BytesIO(listview.export(rows, meta, "xlsx", ("specialist_team",)))
    )
    assert book.sheetnames == ["Everyone", "Arbury", "Barnack", "run metadata"]
    barnack = list(book["Barnack"].iter_rows(values_only=True))
    assert barnack[0][0] == "OFFICIAL-SENSITIVE"
    assert [r[2] for r in barnack[2:]] == ["E", "B"]
    assert barnack[2][1] == '\'=HYPERLINK("http://x")'
    assert book["Barnack"].cell(3, 2).data_type == "s"  # a string, never a formula
    info = dict(book["run metadata"].iter_rows(values_only=True))
    assert info["run id"] == run.run_id and info["scope"] == "force-wide"


def test_an_empty_list_still_exports_a_valid_file(small_extract: Path, tmp_path: Path) -> None:
    run = open_run(score_and_publish(small_extract, tmp_path / "runs", Policy()))
    rows = listview.select(victim_briefing(run, "2024-05", Scope()), listview.ListView())
    meta = ExportMeta.from_manifest(run.manifest, title="Victim list", month="2024-05", scope="")
    body = listview.export(rows, meta, "csv").decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Rank,Name,Person id")
    assert len(body.splitlines()) == 1
    book = openpyxl.load_workbook(io.BytesIO(listview.export(rows, meta, "xlsx")))
    assert book.sheetnames == ["Everyone", "run metadata"]
    assert list(book["Everyone"].iter_rows(values_only=True))[1][0] == "Rank"


def test_neutralise() -> None:
    assert [neutralise(v) for v in ("=1+1", "+44 1223", "-2", "@SUM(A1)", "\tx", "ok", 5)] == [
        "'=1+1",
        "'+44 1223",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "ok",
        5,
    ]


def test_export_command_writes_files(small_extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    score_and_publish(small_extract, runs, Policy())
    out = tmp_path / "north.xlsx"
    result = runner.invoke(
        app,
        [
            "export",
            str(runs),
            "--month",
            "2024-05",
            "--area",
            "North",
            "--format",
            "xlsx",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames == ["Everyone", "Barnack", "run metadata"]
    result = runner.invoke(app, ["export", str(runs), "--month", "2023-01"])
    assert result.exit_code == 2 and "not in run" in result.output


def test_open_run_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a chi run"):
        open_run(tmp_path)
