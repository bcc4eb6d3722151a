"""The Impact review page never crashes (AppTest on the app's fixture run): a decision
recorded for the latest list month (nobody's follow-up has finished), a one-person cohort,
and a person engaged in a month they were not listed in, for the area user and the analyst.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_fixtures import AppEnv, app_test, goto, make_app_env, shared_fixture

from chi.meetings.decisions import Decision, save_decision
from chi.reading.lists import area_scope
from chi.scoring.runs import open_run
from chi.state.store import Store


@pytest.fixture
def env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path / "impact", shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def _north_new(env: AppEnv, month: str) -> list[str]:
    run = open_run(env.fixture.runs_dir)
    listed = pl.read_parquet(run.file("victim_list")).filter(
        (pl.col("month") == month) & (pl.col("status") == "new")
    )
    codes = list(area_scope("North").neighbourhoods)
    return listed.filter(pl.col("neighbourhood_code").is_in(codes))["person_id"].to_list()


def _engage(env: AppEnv, person_id: str, month: str) -> None:
    start = date(int(month[:4]) + (month[5:] == "12"), int(month[5:]) % 12 + 1, 2)
    d = Decision(
        "victim",
        person_id,
        month,
        "North",
        start,
        "engagement",
        engagement_start=start,
        engagement_end=date(start.year + 1, 1, 1),
        owner="PC Patel",
    )
    save_decision(Store(env.state), d, based_on=0, recorded_by="north")


def _page(env: AppEnv, username: str) -> Any:
    at = goto(app_test(env, username), "impact")
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: Any) -> str:
    return " ".join(
        [*(x.value for x in at.info), *(x.value for x in at.warning), *(x.value for x in at.text)]
    )


def test_a_decision_recorded_this_month_is_not_yet_reviewable(env: AppEnv) -> None:
    run = open_run(env.fixture.runs_dir)
    last = run.manifest.months[-1]
    _engage(env, _north_new(env, last)[0], last)
    for username in ("north", "analyst"):
        at = _page(env, username)
        assert at.metric[0].value == "0"
        assert at.metric[3].value == "1", "one decision waits for its after-period"
        assert "after-period has ended yet (1 waiting)" in _texts(at)


def test_a_one_person_cohort_is_shown_without_a_verdict(env: AppEnv) -> None:
    _engage(env, _north_new(env, "2024-03")[0], "2024-03")
    for username in ("north", "analyst"):
        at = _page(env, username)
        text = _texts(at)
        assert at.metric[0].value in ("0", "1")
        assert "No verdict" in text
        assert "engagement reduced" not in text and "engagement increased" not in text


def test_a_person_engaged_when_not_listed_is_counted(env: AppEnv) -> None:
    run = open_run(env.fixture.runs_dir)
    listed = pl.read_parquet(run.file("victim_list"))
    north = _north_new(env, "2024-03")
    # Someone listed in 2024-03 but not in 2024-06, engaged at the 2024-06 meeting.
    june = set(listed.filter(pl.col("month") == "2024-06")["person_id"].to_list())
    person = next(p for p in north if p not in june)
    _engage(env, person, "2024-06")
    for username in ("analyst", "north"):
        at = _page(env, username)
        assert at.metric[4].value == "1"
        assert "1 not on the victim list in their index month" in _texts(at)
    # The South area's view leaves a North person out altogether.
    south = _page(env, "south")
    assert south.metric[4].value == "0" and "Of 0 in the cohort" in _texts(south)
    assert "Nobody is in this cohort (within this scope)" in _texts(south)
