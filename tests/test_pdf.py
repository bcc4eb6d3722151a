"""The printable PDF briefing and the app's audited downloads (CSV, XLSX, PDF)."""

from __future__ import annotations

import io
import re
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_fixtures import ABBEY, ARBURY, Fixture, shared_fixture
from argon2 import PasswordHasher

from chi.exports import listview
from chi.exports.downloads import victim_download
from chi.exports.formats import FORMATS, Document, ExportMeta, export, latin1, write_pdf
from chi.reading.lists import victim_briefing
from chi.scoring.runs import open_run
from chi.state.auth import make_user
from chi.state.store import Store

META = ExportMeta(
    title="Victim list",
    run_id="20250101T000000Z-abcdef12",
    weights="chi2020",
    policy="window 12 months",
    extract_as_of="2024-12-31",
    run_created="2025-01-01",
    month="2024-12",
    scope="Arbury",
    exported_by="sergeant",
    exported_at="2025-01-02 09:00",
)


def pdf_text(data: bytes) -> str:
    """The text drawn on a PDF's pages (fpdf2 writes Flate-compressed content streams)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, flags=re.S):
        try:
            body = zlib.decompress(raw)
        except zlib.error:
            body = raw
        out += [m.decode("latin-1") for m in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", body)]
    return " ".join(out)


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", data))


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return shared_fixture(tmp_path_factory)


def frame(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "neighbourhood": ["Arbury"] * n,
            "rank": list(range(1, n + 1)),
            "name": [f"Person {i}" for i in range(n)],
            "harm_days": [Decimal("10.50")] * n,
            "latest_crime": [date(2024, 12, 1)] * n,
            "reasons": [["high_harm", "repeat"]] * n,
        }
    )


def to_pdf(frame: pl.DataFrame, meta: ExportMeta, sheet_by: str | None = None) -> bytes:
    doc = Document(whole=frame, split_by=sheet_by, empty_text=listview.NOBODY)
    return export(doc, meta, "pdf")


def test_pdf_is_registered_with_the_other_formats() -> None:
    assert FORMATS["pdf"].write is write_pdf
    assert FORMATS["pdf"].media_type == "application/pdf"


def test_briefing_has_marking_on_every_page_and_the_run_metadata() -> None:
    data = to_pdf(frame(120), META, sheet_by="neighbourhood")
    assert data.startswith(b"%PDF-")
    n = pages(data)
    assert n >= 3
    text = pdf_text(data)
    assert text.count("OFFICIAL-SENSITIVE") == 2 * n, "top and bottom of every page"
    for value in (META.run_id, "chi2020", "sergeant", "2025-01-02 09:00", "Person 119"):
        assert value in text
    assert "high harm, repeat" in text
    assert "10.50" in text


def test_an_empty_list_still_gives_a_valid_briefing() -> None:
    data = to_pdf(frame(0), META)
    assert data.startswith(b"%PDF-") and pages(data) == 1
    assert "Nobody is listed" in pdf_text(data)


def test_text_outside_latin1_is_made_safe_and_flagged() -> None:
    assert latin1("Zoë Brontë") == ("Zoë Brontë", False)
    assert latin1("Łukasz “quoted” — 李") == ('Lukasz "quoted" - ?', True)
    names = pl.DataFrame({"name": ["Zoë", "Łukasz", "李小龍", "=SUM(A1)"]})
    text = pdf_text(to_pdf(names, META))
    assert "Lukasz" in text and "???" in text
    assert "exact text" in text, "the briefing says some characters could not be printed"


def test_marking_is_configurable() -> None:
    from dataclasses import replace

    text = pdf_text(to_pdf(frame(2), replace(META, marking="OFFICIAL")))
    assert "OFFICIAL" in text and "OFFICIAL-SENSITIVE" not in text


def _download(fixture: Fixture, tmp_path: Path, fmt: str) -> tuple[bytes, Store, int]:
    store = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    run = open_run(fixture.runs_dir)
    user = make_user("sergeant", "neighbourhood", [ARBURY, ABBEY])
    scope = user.scope
    listed = listview.select(
        victim_briefing(run, "2024-12", scope, ["sexual_offences"]),
        listview.ListView(everyone=True),
    )
    data = victim_download(
        store, user, run, "2024-12", scope, listed, fmt, "OFFICIAL-SENSITIVE", datetime(2025, 1, 2)
    )
    return data, store, listed.height


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_every_download_is_audited_with_its_row_count(
    fixture: Fixture, tmp_path: Path, fmt: str
) -> None:
    data, store, rows = _download(fixture, tmp_path, fmt)
    assert rows > 0 and len(data) > 500
    [entry] = store.audit_log()
    assert entry["action"] == "download" and entry["detail"] == fmt
    assert entry["rows"] == rows and entry["month"] == "2024-12"
    assert entry["scope"] == ",".join(sorted([ARBURY, ABBEY]))
    assert entry["person_id"] is None


def test_xlsx_download_rows_metadata_and_neutralised_formulas(
    fixture: Fixture, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    data, _, rows = _download(fixture, tmp_path, "xlsx")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Everyone", "Abbey", "Arbury", "run metadata"], "name order"
    body: list[tuple[Any, ...]] = []
    for name in ("Arbury", "Abbey"):
        ws = wb[name]
        assert ws.cell(1, 1).value == "OFFICIAL-SENSITIVE"
        assert ws.cell(2, 1).value == "Rank" and ws.cell(2, 2).value == "Name"
        assert ws.freeze_panes == "A3" and ws.auto_filter.ref is not None
        assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$2"
        fit = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage and fit.paperSize == 9
        assert fit.fitToHeight == 0 and fit.fitToWidth in (None, 1), "1 page wide (the default)"
        assert ws.column_dimensions["B"].width and ws.column_dimensions["B"].width > 8
        body += list(ws.iter_rows(min_row=3, values_only=True))
    assert len(body) == rows
    everyone = list(wb["Everyone"].iter_rows(min_row=3, values_only=True))
    assert sorted(everyone, key=str) == sorted(body, key=str), "everyone = the sheets together"
    names = [r[1] for r in body]
    assert any(str(n).startswith("'=HYPERLINK") for n in names), "formula neutralised"
    assert not any(str(n).startswith("=") for n in names)
    meta = dict(wb["run metadata"].iter_rows(values_only=True))
    assert meta["exported by"] == "sergeant" and meta["month"] == "2024-12"


def test_csv_download_matches_the_list(fixture: Fixture, tmp_path: Path) -> None:
    data, _, rows = _download(fixture, tmp_path, "csv")
    text = data.decode("utf-8-sig")
    frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    assert frame.height == rows
    assert set(frame["Neighbourhood"]) == {"Arbury", "Abbey"}
    assert set(frame["Handling"]) == {"OFFICIAL-SENSITIVE"}
    listed = victim_briefing(
        open_run(fixture.runs_dir),
        "2024-12",
        make_user("sergeant", "neighbourhood", [ARBURY, ABBEY]).scope,
    )
    neutral = ["'" + n if n.startswith("=") else n for n in listed["name"]]
    assert sorted(frame["Name"]) == sorted(neutral), "names round-trip exactly (UTF-8)"


def test_the_registry_still_writes_csv_and_xlsx() -> None:
    doc = Document(whole=frame(1))
    assert export(doc, META, "csv").startswith(b"\xef\xbb\xbfneighbourhood,rank")
    assert export(doc, META, "xlsx")[:2] == b"PK"
