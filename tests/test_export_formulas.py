"""Spreadsheet formula injection (OWASP ASVS 5.0 V1.2.10) in every spreadsheet export: the
CSV and XLSX lists and the XLSX meeting pack. A spreadsheet must never see a cell whose first
character that shows is ``=``, ``+``, ``-`` or ``@`` (in any width), or that starts with a
control character; a CSV field holding a list separator is quoted, so a reader splitting at
``;``, tab or ``|`` (by locale) never finds a formula inside a field."""

from __future__ import annotations

import csv
import io
import unicodedata

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chi.exports.formats import (
    Document,
    ExportMeta,
    export,
    formula_after_separator,
    neutralise,
)

META = ExportMeta(
    title="Victim list",
    run_id="r1",
    weights="w",
    policy="p",
    extract_as_of="2024-12-31",
    run_created="2025-01-01",
    month="2024-12",
    scope="=scope;=1+1",
    exported_by="@user",
)

LEADING = [
    "=1+1",
    "+44 1223",
    "-2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1+1",
    "\x00=1+1",
    "\x00",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
    "﹦1",
    "\u2212" + "1",
    " =1+1",
    "   @x",
    "\u00a0=1",
    "\u200b=1+1",
    "\u200b\u200d\u2060 =1+1",
    "\ufeff=1",
    "\u202e=1",
    ' \u200b＝HYPERLINK("http://x")',
]
INSIDE = ["x;=1+1", "x,=1+1", "x\t=1", "a|@b", "ok; ＝1", "x;\u200b=1"]
HARMLESS = ["Smith-Jones", "a = b", "x;y", "O'Neil", "", "李小龍"]

SPREAD = {"Zs", "Cc", "Cf"}
TRIGGERS = "=+-@"


def formula_like(cell: str) -> bool:
    """The reference rule, written independently of chi.exports.formats: skip what does not show,
    then fold the first character with NFKC (and U+2212 as a minus)."""
    if cell and unicodedata.category(cell[0]) == "Cc":
        return True
    for ch in cell:
        if unicodedata.category(ch) in SPREAD or ch.isspace():
            continue
        folded = unicodedata.normalize("NFKC", ch).replace("\u2212", "-")
        return folded[:1] in TRIGGERS
    return False


@pytest.mark.parametrize("value", LEADING)
def test_a_leading_trigger_gets_an_apostrophe(value: str) -> None:
    assert formula_like(value), "the case is a formula to a spreadsheet"
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS + INSIDE)
def test_other_text_is_unchanged(value: str) -> None:
    assert neutralise(value) == value
    assert neutralise(5) == 5 and neutralise(None) is None


@pytest.mark.parametrize("value", INSIDE)
def test_a_trigger_after_a_separator_is_found(value: str) -> None:
    assert formula_after_separator(value)


def csv_cells(data: bytes) -> dict[str, list[str]]:
    """Every cell a spreadsheet could make of the CSV, for each list separator it may use."""
    text = data.decode("utf-8-sig")
    out: dict[str, list[str]] = {}
    for sep in ",;\t|":
        out[sep] = [
            c for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep) for c in row
        ]
    return out


def frame_of(values: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"neighbourhood": ["Arbury"] * len(values), "name": values, "n": range(len(values))}
    )


def test_csv_export_has_no_formula_for_any_separator() -> None:
    values = LEADING + INSIDE + HARMLESS
    data = export(Document(whole=frame_of(values)), META, "csv")
    for sep, cells in csv_cells(data).items():
        bad = [c for c in cells if formula_like(c)]
        assert bad == [], f"separator {sep!r}: {bad}"
    body = data.decode("utf-8-sig")  # the header is the first line
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    names = [r["name"] for r in rows]
    for name, value in zip(names, LEADING, strict=False):
        assert name.startswith("'") and name.replace("'", "") == value
    assert names[len(LEADING) : len(LEADING) + len(INSIDE)] == [
        "x;'=1+1",
        "x,'=1+1",
        "x\t'=1",
        "a|'@b",
        "ok;' ＝1",
        "x;'\u200b=1",
    ]
    assert names[-len(HARMLESS) :] == HARMLESS


def xlsx_strings(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"a formula in {sheet.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    out.append(cell.value.replace("_x0000_", "\x00"))
    return out


def test_xlsx_list_and_meeting_pack_have_no_formula() -> None:
    values = LEADING + INSIDE + HARMLESS
    for data in (
        export(Document(whole=frame_of(values), split_by="neighbourhood"), META, "xlsx"),
        export(
            Document(sections=(("New", frame_of(values)), ("Actions due", frame_of(values[:3])))),
            META,
            "xlsx",
        ),
    ):
        strings = xlsx_strings(data)
        assert [s for s in strings if formula_like(s)] == []
        assert "'=1+1" in strings and "'\u200b=1+1" in strings and "x;=1+1" in strings


TEXT = st.text(
    alphabet=st.sampled_from(
        [*"=+-@;,|\t\r\n\x00 \"'ax1", *"＝＋－＠﹫\u200b\u2060\ufeff\u00a0\u2212"]
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=5))
def test_no_generated_text_leaves_a_formula(values: list[str]) -> None:
    assert not any(formula_like(neutralise(v)) for v in values)
    data = export(Document(whole=frame_of(values)), META, "csv")
    for sep, cells in csv_cells(data).items():
        assert [c for c in cells if formula_like(c)] == [], sep
