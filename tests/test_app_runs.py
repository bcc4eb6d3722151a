"""The analyst's pages (AppTest): a rerun with a different threshold started from the app, run
in the background and published atomically, then the diff between the runs; data quality.
And the background job itself: one at a time, failures recorded without their message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import (
    AppEnv,
    app_test,
    build_extract,
    goto,
    make_app_env,
    shared_fixture,
    table,
)
from argon2 import PasswordHasher

import chi.app.jobs
from chi.app.jobs import Job, JobBusyError, Jobs
from chi.scoring.policy import Policy
from chi.scoring.runs import (
    current_run_id,
    latest_run_id,
    list_runs,
    open_run,
    score_and_publish,
)
from chi.state.store import Store


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(
        tmp_path_factory.mktemp("runs"), shared_fixture(tmp_path_factory), own_runs=True
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def wait_for(job: Job | None, seconds: float = 60) -> Job:
    assert job is not None
    deadline = time.monotonic() + seconds
    while job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job.running, f"still {job.step} after {seconds}s"
    return job


def titles(at: Any) -> list[str]:
    return [t.value for t in at.title]


def test_analyst_reruns_with_another_threshold_and_sees_the_diff(env: AppEnv) -> None:
    from chi.app.jobs import JOBS

    runs_dir = env.root / "runs"
    before = latest_run_id(runs_dir)
    at = goto(app_test(env, "analyst").run(), "runs")
    assert not at.exception
    assert titles(at) == ["Runs"]
    assert len(table(at)) == 1
    assert "Publish a second run" in " ".join(i.value for i in at.info)

    at.number_input(key="min_harm").set_value(50.0)
    at.number_input(key="min_crimes").set_value(6)
    at.text_input(key="months").input("2024-10:2024-12")
    at.form_submit_button[0].click().run()
    assert not at.exception
    job = wait_for(JOBS.current(runs_dir))
    assert job.state == "done", job.error
    after = latest_run_id(runs_dir)
    assert after is not None
    assert after == job.run_id and after != before
    assert current_run_id(runs_dir) == before, "the new run is a draft"
    new = open_run(runs_dir / after)
    assert new.manifest.policy["min_harm"] == "50"
    assert new.manifest.policy["min_crimes"] == 6
    assert new.manifest.months == ["2024-10", "2024-11", "2024-12"]

    at.run()
    assert any(after in s.value and "draft" in s.value for s in at.success)
    runs_rows = table(at)
    assert len(runs_rows) == 2
    assert {(r["run"], r["state"]) for r in runs_rows} == {(before, "current"), (after, "draft")}
    against_current = table(at, 1)
    diff = table(at, 2)
    assert [(r["person_id"], r["change"], r["why"]) for r in diff] == [
        (r["person_id"], r["change"], r["why"]) for r in against_current
    ], "the diff before making a run current is the current run against it"
    assert diff, "a lower harm threshold and a higher count threshold change the lists"
    assert {r["change"] for r in diff} <= {"entered", "left"}
    assert {r["month"] for r in diff} == {"2024-12"}
    assert all(r["why"] for r in diff)
    log = Store(env.state).audit_log(username="analyst")
    done = [r["action"] for r in reversed(log)]
    assert done.index("rerun_started") < done.index("rerun_published") < done.index("diff_view")

    north = goto(app_test(env, "north").run(), "victims")
    assert before in north.caption[0].value, "other users still read the current run"
    assert after not in " ".join(str(s.value) for s in north.selectbox)

    mine = goto(app_test(env, "analyst").run(), "victims")
    pick = mine.sidebar.selectbox(key="run_pick")
    assert pick.value == before and pick.options == [f"{before} (current)", f"{after} (draft)"]
    assert not mine.warning
    pick.set_value(after).run()
    assert after in mine.caption[0].value, "an analyst can read the draft"
    assert any("not the current run: only analysts see it" in w.value for w in mine.warning)

    assert at.button(key="pub_button").disabled, "not before the analyst says they read the diff"
    at.checkbox(key="pub_agree").check().run()
    at.button(key="pub_button").click().run()
    assert not at.exception
    assert current_run_id(runs_dir) == after
    assert any(f"Run {after} is now current (it was {before})" in s.value for s in at.success)
    made = Store(env.state).audit_log(actions=["run_made_current"])
    assert (made[0]["username"], made[0]["run_id"], made[0]["detail"]) == (
        "analyst",
        after,
        f"previous {before}",
    )
    north = goto(app_test(env, "north").run(), "victims")
    assert after in north.caption[0].value, "everyone now reads the new run"
    victims = goto(at, "victims")
    assert victims.markdown[0].value.startswith(f"**{len(table(victims))}** people listed")
    assert after in victims.caption[0].value


def test_data_quality_page(env: AppEnv) -> None:
    at = goto(app_test(env, "analyst").run(), "quality")
    assert not at.exception
    assert titles(at) == ["Data quality"]
    counts = table(at)
    assert {r["table"] for r in counts} == {"crimes", "persons", "victims", "suspects"}
    assert all(r["reconciles"] for r in counts)
    assert [m.label for m in at.metric][:3] == ["Rows read", "Rows rejected", "Share rejected"]
    basis = table(at, 1)
    assert all(r["meaning"] for r in basis), "every weight basis explained"


def test_one_rerun_at_a_time_and_failures_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = build_extract(tmp_path / "extract")
    store = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    jobs = Jobs()
    # Hold the first run until the second start has been tried: scoring a small extract can
    # finish before the next line runs, and then there is nothing under way to refuse.
    release = threading.Event()
    real = score_and_publish  # what chi.app.jobs calls, until patched below

    def held(*args: Any, **kwargs: Any) -> Path:
        release.wait(timeout=60)
        return real(*args, **kwargs)

    monkeypatch.setattr(chi.app.jobs, "score_and_publish", held)
    job = jobs.start(store, "ana", tmp_path / "runs", fixture, Policy(), "2024-12")
    try:
        with pytest.raises(JobBusyError, match="still under way"):
            jobs.start(store, "bob", tmp_path / "runs", fixture, Policy(), "2024-12")
    finally:
        release.set()
    assert wait_for(job).state == "done"
    assert [r.run_id for r in list_runs(tmp_path / "runs")] == [job.run_id]
    bad = wait_for(
        jobs.start(store, "ana", tmp_path / "runs", tmp_path / "missing", Policy(), None)
    )
    assert bad.state == "failed" and bad.error
    failed = store.audit_log(actions=["rerun_failed"])
    assert failed[0]["detail"] == bad.error.split(":")[0], "only the kind of error"
    assert [r.run_id for r in list_runs(tmp_path / "runs")] == [job.run_id]
