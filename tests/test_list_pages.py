"""The victim list page sized for action, its filters, and downloads that match the screen
(AppTest): the page's table is the list view's table, and the CSV, XLSX and PDF of what is
shown hold the same headers, words, numbers and order."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from app_fixtures import ABBEY, ARBURY, AppEnv, app_test, build_fixture, make_app_env, table
from argon2 import PasswordHasher
from test_pdf import pdf_text

from chi.exports import listview
from chi.exports.downloads import victim_download
from chi.exports.formats import neutralise
from chi.reading.lists import Scope, victim_briefing
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run
from chi.state.auth import make_user
from chi.state.store import Store

MONTH = "2024-12"
SIZE = 3
POLICY = Policy(min_harm=Decimal(100), min_crimes=4, list_size=SIZE)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    root = tmp_path_factory.mktemp("sized")
    app_env = make_app_env(root, build_fixture(root / "fixture", POLICY))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


@pytest.fixture(scope="module")
def run(env: AppEnv) -> Run:
    return open_run(env.fixture.runs_dir)


def briefing(run: Run, codes: set[str]) -> pl.DataFrame:
    return victim_briefing(run, MONTH, Scope.of(codes), ["sexual_offences"])


def shown_text(value: Any) -> str:
    """A cell as the page prints it (harm "%.2f", dates YYYY-MM-DD)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_list_to_act_on_is_each_neighbourhoods_first_n(env: AppEnv, run: Run) -> None:
    at = app_test(env, "sergeant").run()
    assert not at.exception
    rows = table(at)
    full = briefing(run, {ARBURY, ABBEY})
    actionable = full.filter(pl.col("specialist_team").is_null())
    for nb in ("Abbey", "Arbury"):
        mine = [r for r in rows if r["Neighbourhood"] == nb]
        want = actionable.filter(pl.col("neighbourhood_name") == nb).sort("neighbourhood_rank")
        assert [r["Person id"] for r in mine] == want["person_id"].to_list()[:SIZE]
        assert [r["Rank"] for r in mine] == list(range(1, min(SIZE, want.height) + 1))
    assert [r["Neighbourhood"] for r in rows] == sorted(r["Neighbourhood"] for r in rows)
    assert "Specialist team" not in rows[0], "nobody shown has one"
    assert list(rows[0])[:5] == ["Rank", "Name", "Person id", "New or continuing", "Reasons"]
    assert at.radio(key="victims_show").options == [
        f"First {SIZE} per neighbourhood",
        f"Everyone listed ({full.height})",
    ]


def test_everyone_listed_flags_the_specialist_teams(env: AppEnv, run: Run) -> None:
    at = app_test(env, "analyst").run()
    at.radio(key="victims_show").set_value("everyone").run()
    rows = table(at)
    full = victim_briefing(run, MONTH, Scope.force())
    assert len(rows) == full.height
    teams = {r["Person id"]: shown_text(r["Specialist team"]) for r in rows}
    want = {
        p: shown_text(t) for p, t in zip(full["person_id"], full["specialist_team"], strict=True)
    }
    assert teams == want
    assert any(want.values()), "the fixture's rapes and sexual assaults list some people"
    flagged = [r for r in rows if shown_text(r["Specialist team"])]
    assert flagged and all(r["Rank"] != r["Rank"] or r["Rank"] is None for r in flagged)
    assert any("specialist team" in c.value for c in at.caption)


def test_filters_by_reason_and_status(env: AppEnv, run: Run) -> None:
    at = app_test(env, "analyst").run()
    at.radio(key="victims_show").set_value("everyone").run()
    at.multiselect(key="victims_reasons").select("domestic_abuse").run()
    rows = table(at)
    assert rows and all("domestic abuse" in r["Reasons"] for r in rows)
    full = victim_briefing(run, MONTH, Scope.force())
    want = full.filter(pl.col("reasons").list.contains("domestic_abuse"))
    assert {r["Person id"] for r in rows} == set(want["person_id"])
    at.selectbox(key="victims_status").set_value("new").run()
    rows = table(at)
    assert {r["Person id"] for r in rows} == set(
        want.filter(pl.col("status") == "new")["person_id"]
    )
    assert all(r["New or continuing"] == "new" for r in rows)


def test_downloads_hold_what_the_page_shows(env: AppEnv, run: Run, tmp_path: Path) -> None:
    at = app_test(env, "sergeant").run()
    at.radio(key="victims_show").set_value("everyone").run()
    page = table(at)
    headers = list(page[0])
    user = make_user("sergeant", "neighbourhood", [ARBURY, ABBEY])
    view = listview.ListView(everyone=True, specialist_rule="flag")
    rows = listview.select(briefing(run, {ARBURY, ABBEY}), view)
    drop = listview.hidden_columns(False, rows, view)
    store = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))

    def download(fmt: str) -> bytes:
        return victim_download(
            store,
            user,
            run,
            MONTH,
            user.scope,
            rows,
            fmt,
            "OFFICIAL-SENSITIVE",
            drop=drop,
            view="everyone",
        )

    # the same text, with a spreadsheet formula neutralised (issue 12's rule)
    on_screen = [[neutralise(shown_text(r[h])) for h in headers] for r in page]
    lines = list(csv.reader(io.StringIO(download("csv").decode("utf-8-sig"))))
    assert lines[0] == [*headers, "Window", "Run", "Handling"]
    assert [line[: len(headers)] for line in lines[1:]] == on_screen

    book = openpyxl.load_workbook(io.BytesIO(download("xlsx")))
    sheet = list(book["Everyone"].iter_rows(min_row=2))
    assert [c.value for c in sheet[0]] == headers

    def as_displayed(cell: Any) -> str:  # what Excel shows for the cell's number format
        if cell.number_format == "0.00" and isinstance(cell.value, int | float):
            return f"{cell.value:.2f}"
        return shown_text(cell.value)

    assert [[as_displayed(c) for c in r] for r in sheet[1:]] == on_screen
    harm = headers.index("Harm (days)") + 1
    assert book["Everyone"].cell(3, harm).number_format == "0.00"

    text = pdf_text(download("pdf"))
    for r in page[:5]:
        assert r["Person id"] in text and shown_text(r["Harm (days)"]) in text
        assert r["Reasons"] in text
    assert "Actions" in text and "Person id" in text
    details = [e["detail"] for e in store.audit_log(actions=["download"])]
    assert details == ["pdf; everyone", "xlsx; everyone", "csv; everyone"]
