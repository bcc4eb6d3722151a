"""One export registry (issue 10): every file data leaves chi in is written by a writer of
``chi.exports.formats.FORMATS``, all with the one signature ``write(Document, ExportMeta)``;
zero rows still give a valid file, so "nobody matched" is distinguishable from "it failed".
The app's downloads, ``chi export``, the meeting pack and the impact review all use it."""

from __future__ import annotations

import ast
import csv
import inspect
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from factory import GBH_S20, crime, person, victim, write_extract
from test_pdf import pages, pdf_text
from typer.testing import CliRunner

from chi.cli import app
from chi.exports import listview
from chi.exports.downloads import DOWNLOAD_FORMATS, media_type
from chi.exports.formats import FORMATS, Document, ExportMeta, export, export_format
from chi.meetings.pack import PACK_FORMATS
from chi.scoring.policy import Policy
from chi.scoring.runs import score_and_publish

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
META = ExportMeta(
    title="Victim list",
    run_id="r1",
    weights="chi2020",
    policy="window 12 months",
    extract_as_of="2024-12-31",
    run_created="2025-01-01",
    month="2024-12",
    scope="Arbury",
)
EMPTY = pl.DataFrame(
    {"Neighbourhood": [], "Rank": [], "Name": []},
    schema={"Neighbourhood": pl.String, "Rank": pl.Int64, "Name": pl.String},
)


def test_every_writer_has_the_one_signature() -> None:
    assert sorted(FORMATS) == ["csv", "pdf", "xlsx"]
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        params = list(inspect.signature(fmt.write).parameters.values())
        assert [p.annotation for p in params] == ["Document", "ExportMeta"], name
    assert media_type("csv") == "text/csv"
    assert {f: FORMATS[f].media_type for f in ("xlsx", "pdf")} == PACK_FORMATS
    assert set(DOWNLOAD_FORMATS) == set(FORMATS)


def test_an_empty_list_is_a_valid_file_in_every_format() -> None:
    doc = Document(whole=EMPTY, split_by="Neighbourhood", empty_text=listview.NOBODY)
    body = export(doc, META, "csv").decode("utf-8-sig")
    assert body == "Neighbourhood,Rank,Name,Run,Handling\r\n"
    book = openpyxl.load_workbook(io.BytesIO(export(doc, META, "xlsx")))
    assert book.sheetnames == ["Everyone", "run metadata"]
    rows = list(book["Everyone"].iter_rows(values_only=True))
    assert rows[1] == ("Neighbourhood", "Rank", "Name") and len(rows) == 2
    pdf = export(doc, META, "pdf")
    assert pdf.startswith(b"%PDF-") and pages(pdf) == 1
    assert listview.NOBODY in pdf_text(pdf)


def test_an_empty_pack_is_a_valid_file_in_every_pack_format() -> None:
    doc = Document(sections=(("New", EMPTY), ("Actions due", EMPTY)), intro="Meeting.")
    book = openpyxl.load_workbook(io.BytesIO(export(doc, META, "xlsx")))
    assert book.sheetnames == ["New", "Actions due", "run metadata"]
    assert [r[0] for r in book["New"].iter_rows(values_only=True)][1:] == ["Neighbourhood", "None."]
    text = pdf_text(export(doc, META, "pdf"))
    assert r"New \(0\)" in text and r"Actions due \(0\)" in text  # PDF escapes brackets
    assert text.count("None.") == 2
    assert "Meeting." in text


def test_a_csv_holds_one_table_and_an_unknown_format_is_named() -> None:
    two = Document(sections=(("New", EMPTY), ("Exited", EMPTY)))
    with pytest.raises(ValueError, match="a CSV file holds one table"):
        export(two, META, "csv")
    one = Document(sections=(("New", EMPTY),))
    assert export(one, META, "csv").decode("utf-8-sig").startswith("Neighbourhood,Rank,Name")
    with pytest.raises(ValueError, match=r"unknown export format 'docx'; choose csv, xlsx, pdf"):
        export(one, META, "docx")
    with pytest.raises(ValueError, match=r"choose xlsx, pdf$"):
        export_format("csv", PACK_FORMATS)


def test_no_file_is_written_outside_the_registry() -> None:
    """The XLSX and PDF writers (xlsxwriter, fpdf) live in chi/exports/formats.py only (the profile
    report's HTML-to-PDF is a document of its own, chi/analysis/report.py)."""
    writers = {"xlsxwriter", "fpdf"}
    found = []
    for path in sorted((ROOT / "chi").rglob("*.py")):
        if path.name == "formats.py" and path.parent.name == "exports":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in writers for n in names):
                found.append(str(path.relative_to(ROOT)))
    assert found == []


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("G1", "2024-03-15", offence_code=GBH_S20)],
        persons=[person("A", name="Alice Example")],
        victims=[victim("G1", "A")],
        as_of="2024-05-31",
    )
    score_and_publish(extract, tmp_path / "runs", Policy())
    return tmp_path / "runs"


def test_chi_export_writes_an_empty_list_in_every_format(runs: Path, tmp_path: Path) -> None:
    # Barnack (North) has nobody listed: the one victim lives in the South.
    for fmt in FORMATS:
        out = tmp_path / f"empty.{fmt}"
        result = runner.invoke(
            app,
            [
                "export",
                str(runs),
                "--month",
                "2024-05",
                "--neighbourhood",
                "E05010805",
                "--format",
                fmt,
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "0 rows written" in result.output
        data = out.read_bytes()
        if fmt == "csv":
            lines = data.decode("utf-8-sig").splitlines()
            assert len(lines) == 1 and lines[0].startswith("Rank,Name")
        elif fmt == "xlsx":
            book = openpyxl.load_workbook(out)
            assert book.sheetnames == ["Everyone", "run metadata"]
        else:
            assert data.startswith(b"%PDF-") and listview.NOBODY in pdf_text(data)
    result = runner.invoke(app, ["export", str(runs), "--month", "2024-05", "--format", "docx"])
    assert result.exit_code == 2 and "choose csv, xlsx, pdf" in result.output


def test_chi_export_carries_the_configured_marking(runs: Path, tmp_path: Path) -> None:
    config = tmp_path / "chi.toml"
    config.write_text(
        '[app]\nstate_path = "state.sqlite"\n[lists]\nmarking = "OFFICIAL"\n', encoding="utf-8"
    )
    result = runner.invoke(
        app, ["export", str(runs), "--month", "2024-05", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert [r["Name"] for r in rows] == ["Alice Example"]
    assert {r["Handling"] for r in rows} == {"OFFICIAL"}
