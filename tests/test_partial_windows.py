"""Months with a partial window: ``chi score`` scores by default only the list months whose
whole window lies inside the extract; ``--partial`` adds the others, marked partial in the
manifest, the command's output and the app's month picker; profile periods likewise."""

from __future__ import annotations

from pathlib import Path

import pytest
from factory import HOME_A, crime, person, victim, write_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.runs import open_run

runner = CliRunner()


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """One ABH a month for A from 2024-01-10 to 2024-06-10 (as of 2024-06-30)."""
    crimes = [crime(f"C{m}", f"2024-{m:02d}-10") for m in range(1, 7)]
    return write_extract(
        tmp_path / "extract",
        crimes=crimes,
        persons=[person("A", home_lsoa_code=HOME_A)],
        victims=[victim(c["crime_id"], "A") for c in crimes],
        as_of="2024-06-30",
    )


def _score(extract: Path, runs: Path, *flags: str) -> tuple[int, str]:
    out = runner.invoke(app, ["score", str(extract), "--out", str(runs), *flags])
    return out.exit_code, out.output


def test_default_scores_only_whole_windows(extract: Path, tmp_path: Path) -> None:
    code, output = _score(extract, tmp_path / "runs", "--window-months", "3")
    assert code == 0, output
    run = open_run(tmp_path / "runs")
    # windows of 3 months: 2024-03 is the first whose window (01..03) lies inside
    assert run.manifest.months == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert run.manifest.partial_months == [] and run.manifest.first_month == "2024-01"
    assert "partial window" not in output


def test_partial_flag_adds_the_others_marked(extract: Path, tmp_path: Path) -> None:
    code, output = _score(extract, tmp_path / "runs", "--window-months", "3", "--partial")
    assert code == 0, output
    run = open_run(tmp_path / "runs")
    assert run.manifest.months[:3] == ["2024-01", "2024-02", "2024-03"]
    assert run.manifest.partial_months == ["2024-01", "2024-02"]
    assert "partial window: 2024-01 to 2024-02 (2;" in output


def test_no_whole_window_is_one_clear_line(extract: Path, tmp_path: Path) -> None:
    code, output = _score(extract, tmp_path / "runs")  # 12-month window, 6 months of data
    assert code == 2
    assert output.strip().splitlines() == [
        "chi: no list month has its whole 12-month window inside the extract (its first "
        "month is 2024-01, its last 2024-06); give --partial to score them anyway, marked "
        "partial"
    ]


def test_explicit_months_are_scored_and_marked(extract: Path, tmp_path: Path) -> None:
    code, output = _score(extract, tmp_path / "runs", "--months", "2024-05:2024-06")
    assert code == 0, output
    run = open_run(tmp_path / "runs")
    assert run.manifest.partial_months == ["2024-05", "2024-06"]


def test_profile_period_must_lie_inside_the_extract(extract: Path, tmp_path: Path) -> None:
    _score(extract, tmp_path / "runs", "--window-months", "3")
    base = ["profile", str(tmp_path / "runs"), "--json", str(tmp_path / "p.json")]
    out = runner.invoke(app, [*base, "--period", "2023-07:2024-06"])
    assert out.exit_code == 2
    assert "period 2023-07:2024-06 starts before the extract's first month (2024-01)" in out.output
    assert "start at 2024-01 or later, or give --partial" in out.output
    assert not (tmp_path / "p.json").exists()


def test_the_app_marks_partial_months(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_fixtures import Fixture, app_test, make_app_env

    code, output = _score(extract, tmp_path / "runs", "--window-months", "3", "--partial")
    assert code == 0, output
    run = open_run(tmp_path / "runs")
    env = make_app_env(
        tmp_path / "app", Fixture(extract, tmp_path / "runs", run.run_id, run.manifest.months)
    )
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = app_test(env, "analyst").run()
    assert not at.exception
    month = at.sidebar.selectbox(key="month")
    assert month.options == [
        "2024-06",
        "2024-05",
        "2024-04",
        "2024-03",
        "2024-02 (partial window)",
        "2024-01 (partial window)",
    ]
    assert not any("Partial window" in w.value for w in at.warning)
    month.set_value("2024-02").run()
    assert any(
        "Partial window: 2024-02's 3-month window starts before the extract's first month "
        "(2024-01)" in w.value
        for w in at.warning
    )


@pytest.mark.parametrize(("month", "window"), [("2024-02", "partial"), ("2024-04", "whole")])
def test_exports_say_whether_the_month_has_a_whole_window(
    extract: Path, tmp_path: Path, month: str, window: str
) -> None:
    """A partial month's list is marked in every format: a Window column in the CSV, the
    run-metadata sheet of the XLSX and the first page of the PDF."""
    import csv
    import io

    import openpyxl

    code, output = _score(
        extract, tmp_path / "runs", "--window-months", "3", "--partial", "--min-crimes", "1"
    )
    assert code == 0, output
    run = open_run(tmp_path / "runs")
    done = runner.invoke(app, ["export", str(run.path), "--month", month, "--format", "csv"])
    assert done.exit_code == 0, done.output
    lines = list(csv.reader(io.StringIO(done.stdout.lstrip("\ufeff"))))
    assert lines[0][-3:] == ["Window", "Run", "Handling"]
    assert len(lines) == 2 and lines[1][-3] == window
    xlsx = tmp_path / "list.xlsx"
    done = runner.invoke(
        app, ["export", str(run.path), "--month", month, "--format", "xlsx", "--out", str(xlsx)]
    )
    assert done.exit_code == 0, done.output
    meta = openpyxl.load_workbook(xlsx)["run metadata"]
    values = {r[0]: r[1] for r in meta.iter_rows(values_only=True) if r and r[0]}
    assert values["window"].startswith("PARTIAL WINDOW" if window == "partial" else "whole")
    pdf = tmp_path / "list.pdf"
    done = runner.invoke(
        app, ["export", str(run.path), "--month", month, "--format", "pdf", "--out", str(pdf)]
    )
    assert done.exit_code == 0, done.output
    from test_pdf import pdf_text

    text = pdf_text(pdf.read_bytes())
    assert ("PARTIAL WINDOW" in text) == (window == "partial")
    assert ("whole window" in text) == (window == "whole")
