"""Many sessions at once in one server process, each with its own scope, each get only their
own rows: the app's caches are shared by every session, so a cache keyed without the scope
would show up here as one user's rows in another's list."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from app_fixtures import (
    USERS,
    AppEnv,
    app_test,
    goto,
    make_app_env,
    one_runtime,
    shared_fixture,
    table,
)

from chi.reading.lists import Scope, narrow, offender_list, victim_list
from chi.scoring.runs import Run, open_run
from chi.state.auth import make_user

MONTHS = ["2024-12", "2024-09", "2024-06"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path_factory.mktemp("many"), shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def expected(run: Run, scope: Scope, month: str) -> set[str]:
    return set(victim_list(run, month, scope)["person_id"])


def ids(at: Any) -> set[str]:
    """The person ids in the page's table (a page with nobody listed shows no table; the
    victim list's columns carry readable headers, the offender list's its field names)."""
    rows = table(at) if at.dataframe else []
    return {str(r["Person id"] if "Person id" in r else r["person_id"]) for r in rows}


def session(env: AppEnv, run: Run, username: str, start: threading.Barrier) -> list[str]:
    """One user's session: the list for several months and each of their neighbourhoods."""
    role, text = USERS[username]
    scope = make_user(username, role, text).scope
    problems: list[str] = []
    at = app_test(env, username)
    start.wait()
    at.run()
    for month in MONTHS:
        at.sidebar.selectbox(key="month").set_value(month).run()
        got = ids(at)
        if got != expected(run, scope, month):
            problems.append(f"{username} {month}: {len(got)} rows, not its own")
        if not scope.force_wide:
            for code in sorted(scope.neighbourhoods)[:3]:
                if len(scope.neighbourhoods) > 1:
                    at.sidebar.selectbox(key="nb").set_value(code).run()
                got = ids(at)
                if got != expected(run, narrow(scope, [code]), month):
                    problems.append(f"{username} {month} {code}: rows outside its choice")
            if len(scope.neighbourhoods) > 1:
                at.sidebar.selectbox(key="nb").set_value("*").run()
    if role in ("area", "analyst"):
        at = goto(at, "offenders")
        want = set(offender_list(run, MONTHS[-1], scope)["person_id"])
        if ids(at) != want:
            problems.append(f"{username}: not its own offenders ({[t.value for t in at.title]})")
    if at.exception:
        problems.append(f"{username}: {at.exception[0].value}")
    return problems


def test_a_dozen_sessions_with_different_scopes_each_get_their_own_rows(env: AppEnv) -> None:
    run = open_run(env.fixture.runs_dir)
    users = [u for u in USERS if u != "admin"]
    users += users[:3]
    assert len(users) >= 12 and len({USERS[u] for u in users}) >= 11
    start = threading.Barrier(len(users))
    with one_runtime(), ThreadPoolExecutor(len(users)) as pool:
        results = list(pool.map(lambda u: session(env, run, u, start), users))
    assert [p for r in results for p in r] == []
