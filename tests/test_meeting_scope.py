"""An area meeting sees only its own area's decisions: a person who moved from a South list to
a North one arrives at North's meeting with no last decision, and North's page shows none of
South's notes, services or owners (cohort level, then the page through AppTest)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_fixtures import AppEnv, app_test, goto, make_app_env, shared_fixture

from chi.meetings.decisions import Decision, save_decision
from chi.meetings.pack import area_history, cohort
from chi.reading.lists import area_scope, exited, victim_briefing
from chi.scoring.runs import open_run
from chi.state.store import Store

MONTH = "2024-12"
SECRET = "SOUTH-ONLY-NOTE"


def south_decision(store: Store, person_id: str) -> None:
    save_decision(
        store,
        Decision(
            "victim",
            person_id,
            "2024-11",
            "South",
            date(2024, 11, 20),
            "signpost",
            service=f"{SECRET} service",
            owner=f"{SECRET} owner",
            notes=f"{SECRET} notes",
            review_date=date(2024, 12, 1),
        ),
        based_on=0,
        recorded_by="south",
    )


def north_person(run: Any) -> str:
    listed = victim_briefing(run, MONTH, area_scope("North"))
    return str(listed.filter(pl.col("status") == "continuing")["person_id"][0])


def test_the_cohort_carries_only_the_meetings_own_areas_decisions(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = open_run(shared_fixture(tmp_path_factory).runs_dir)
    store = Store(tmp_path / "state.sqlite")
    pid = north_person(run)
    south_decision(store, pid)
    scope = area_scope("North")
    listed = victim_briefing(run, MONTH, scope)
    frame = cohort(
        listed, exited(run, MONTH, scope), store, "victim", MONTH, date(2025, 1, 9), "North"
    )
    row = frame.filter(pl.col("person_id") == pid).row(0, named=True)
    assert row["last_decision"] is None and row["review_due"] is False
    assert area_history(store, "victim", pid, "North").is_empty()
    assert area_history(store, "victim", pid, "South")["notes"].to_list() == [f"{SECRET} notes"]


def test_north_meeting_page_shows_nothing_of_souths_decision(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    env: AppEnv = make_app_env(tmp_path_factory.mktemp("scope"), shared_fixture(tmp_path_factory))
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    pid = north_person(open_run(env.fixture.runs_dir))
    south_decision(Store(env.state), pid)
    at = goto(app_test(env, "north"), "meeting")
    at.button_group(key="meeting_show").set_value("everyone").run()
    at.selectbox(key="meeting_person").set_value(pid).run()
    assert not at.exception
    shown = [m.value for m in (*at.markdown, *at.caption)]
    assert not any("Last decision" in s for s in shown), shown
    assert [e.label for e in at.expander if "Decision history" in e.label] == [
        "Decision history at North's meetings (0)"
    ]
    for frame in at.dataframe:
        assert SECRET not in frame.value.to_csv()
    for widget in (*at.text_input, *at.text_area):
        assert SECRET not in str(widget.value)
