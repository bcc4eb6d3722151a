"""The DA profile page of the app, driven by Streamlit's AppTest on the app's fixture run.

The page is registered in the app's navigation by ``chi.state.auth.PAGES`` and ``chi.app.main``;
here it is rendered directly, for a user allowed to open it, so the test does not depend on
the registration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from app_fixtures import AppEnv, make_app_env, shared_fixture

from chi.scoring.runs import open_run


def _script(config_path: str, username: str, role: str, scope: str) -> None:
    import os

    os.environ["CHI_CONFIG"] = config_path
    from chi.app.context import PageContext, services
    from chi.app.pages import profile
    from chi.state.auth import User, make_user

    class ProfileUser(User):
        def may_open(self, page: str) -> bool:
            return page == "profile" or super().may_open(page)

    u = make_user(username, role, scope)
    user = ProfileUser(u.username, u.role, u.neighbourhoods, u.area)
    profile.render(PageContext(services(), user, {}))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path_factory.mktemp("profile"), shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def _page(env: AppEnv, username: str, role: str, scope: str) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(
        _script, args=(str(env.config), username, role, scope), default_timeout=120
    )
    return at.run()


def test_area_user_sees_their_own_area_only(env: AppEnv) -> None:
    at = _page(env, "north", "area", "North")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Domestic abuse profile: North area")
    assert "Area" not in [s.label for s in at.sidebar.selectbox]  # no wider choice
    assert "domestic abuse crimes were recorded" in at.info[0].value
    assert at.dataframe, "the board table is shown"
    from chi.state.store import Store

    views = Store(env.state).audit_log(username="north", actions=["profile_view"])
    assert views and views[0]["scope"] != "*"


def test_analyst_chooses_the_area(env: AppEnv) -> None:
    at = _page(env, "analyst", "analyst", "")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Domestic abuse profile: force-wide")
    at.sidebar.selectbox(key="profile_area").select("South").run()
    assert not at.exception
    assert at.title[0].value.startswith("Domestic abuse profile: South area")


def test_downloads_are_built_on_demand_and_audited(env: AppEnv) -> None:
    import json

    from chi.analysis.profile import Request, build_profile
    from chi.analysis.source import load_run
    from chi.app.pages.profile import _deferred
    from chi.exports.downloads import DownloadGate
    from chi.reading.lists import area_scope
    from chi.state.auth import make_user
    from chi.state.store import Store

    run = open_run(Path(env.fixture.runs_dir))
    scope = area_scope("South")
    profile = build_profile(load_run(run), Request.for_period("2024-01:2024-12", scope))
    store = Store(env.state)
    token = store.start_session("south", 1).token
    ctx = SimpleNamespace(
        store=store,
        user=make_user("south", "area", "South"),
        config=SimpleNamespace(marking="M"),
        download_gate=lambda page: DownloadGate(store, token, 60, page),
    )
    figures = json.loads(_deferred(ctx, run, profile, scope, "json")())  # type: ignore[arg-type]
    assert figures["meta"]["scope"] == "South area"
    html = _deferred(ctx, run, profile, scope, "html")().decode()  # type: ignore[arg-type]
    assert html.startswith("<!DOCTYPE html>") and ">M<" in html
    entries = store.audit_log(username="south", actions=["download"])
    assert [e["detail"].split()[0] for e in entries[:2]] == ["da-profile-html", "da-profile-json"]
    assert all(e["run_id"] == run.run_id and e["scope"] == scope.key for e in entries[:2])


def test_an_extract_that_is_not_generated_has_no_synthetic_notice(env: AppEnv) -> None:
    # The app fixture is a hand-made extract with no truth/ folder: nothing marks it as
    # generated, so the page must not say it is (the generated case: test_analysis_demo).
    at = _page(env, "analyst", "analyst", "")
    assert not at.exception, [e.value for e in at.exception]
    assert not [w for w in at.warning if "SYNTHETIC" in w.value]
