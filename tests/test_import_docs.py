"""The worked example of docs/import.md is real: its export, imported by its mapping, prints
exactly the report on the page, and the extract validates and scores as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.prepare import prepare

DOC = Path(__file__).resolve().parents[1] / "docs" / "import.md"


def _blocks() -> tuple[dict[str, str], str]:
    text = DOC.read_text(encoding="utf-8")
    files = dict(re.findall(r"<!-- export: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S))
    [report] = re.findall(r"<!-- report -->\n```text\n(.*?)```", text, flags=re.S)
    return files, report


def test_the_worked_example_prints_the_report_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, report = _blocks()
    assert set(files) == {"offences.csv", "nominals.csv", "victims.csv", "mapping.toml"}
    (tmp_path / "export").mkdir()
    for name, body in files.items():
        (tmp_path / "export" / name).write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    got = runner.invoke(
        app, ["import", "export", "--mapping", "export/mapping.toml", "--out", "extract"]
    )
    assert got.exit_code == 0, got.output
    assert got.stdout == report
    with prepare(Path.cwd() / "extract") as p:
        assert {t: (c.read, c.rejected) for t, c in p.counts.items()} == {
            "crimes": (6, 1),
            "persons": (3, 0),
            "victims": (6, 1),
            "suspects": (0, 0),
        }
        assert p.basis_counts() == {"exact": 2, "ho_class_min": 3}
        assert {r for _, r, _ in p.rule_counts()} == {
            "exact",
            "exact_respelt",
            "ho_class_respelt",
            "ho_class_in_offence_code",
            "retired_ho_class",
        }
    mapping = (tmp_path / "export" / "mapping.toml").read_text(encoding="utf-8")
    (tmp_path / "export" / "mapping.toml").write_text(
        mapping.replace(
            '"No Crime" = "cancelled"', '"No Crime" = "cancelled"\n"Pending" = "recorded"'
        ),
        encoding="utf-8",
    )
    got = runner.invoke(
        app, ["import", "export", "--mapping", "export/mapping.toml", "--out", "extract-2"]
    )
    assert got.exit_code == 0, got.output
    assert "crimes.status" not in got.stdout
    got = runner.invoke(app, ["score", "extract-2", "--out", "runs", "--partial"])
    assert got.exit_code == 0, got.output
    assert "crimes     read         6  accepted         6  rejected       0" in got.stdout
    run = got.stdout.strip().splitlines()[-1]
    got = runner.invoke(
        app, ["export", run, "--month", "2024-03", "--format", "xlsx", "--out", "list.xlsx"]
    )
    assert got.exit_code == 0, got.output
    assert (tmp_path / "list.xlsx").stat().st_size > 0
