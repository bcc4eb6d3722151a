"""The backtest page, rendered directly with Streamlit's AppTest on the app's fixture run
(so the test does not depend on the page's registration in the navigation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from app_fixtures import AppEnv, make_app_env, shared_fixture

from chi.forecast.backtest import Options
from chi.forecast.saved import backtest_run, default_model_dir
from chi.scoring.runs import open_run


def _script(config_path: str, username: str, role: str, scope: str) -> None:
    import os

    os.environ["CHI_CONFIG"] = config_path
    from chi.app.context import PageContext, services
    from chi.app.pages import backtest
    from chi.state.auth import User, make_user

    class AnalystUser(User):
        def may_open(self, page: str) -> bool:
            return page == "backtest" or super().may_open(page)

    u = make_user(username, role, scope)
    user = AnalystUser(u.username, u.role, u.neighbourhoods, u.area)
    backtest.render(PageContext(services(), user, {}))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(
        tmp_path_factory.mktemp("backtest_page"), shared_fixture(tmp_path_factory), own_runs=True
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def _page(env: AppEnv) -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(
        _script, args=(str(env.config), "analyst", "analyst", ""), default_timeout=120
    )
    return at.run()


def test_without_a_backtest_the_page_says_how_to_make_one(env: AppEnv) -> None:
    at = _page(env)
    assert not at.exception, [e.value for e in at.exception]
    assert "chi backtest" in at.info[0].value


def test_the_page_shows_the_saved_backtest(env: AppEnv) -> None:
    run = open_run(env.fixture.runs_dir)
    opts = Options(ks=(5, 20), horizons=(3,), min_history_months=6, max_train_rows=5_000)
    bt, _ = backtest_run(run, opts, default_model_dir(run))
    at = _page(env)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Backtest")
    assert any("k=5 force-wide" in m.value for m in at.markdown)
    report = bt.model_report
    assert report is not None, bt.plan.model_note
    texts = [t.value for t in at.text]
    # Which candidate won, and by how much, for every label that was fitted.
    for rep in report["labels"].values():
        assert f"Chosen out of time: {rep['chosen_name']}. {rep['reason']}." in texts
    assert at.dataframe, "the results table is shown"
    at.selectbox(key="bt_fair_k").select(20).run()
    assert not at.exception
    from chi.state.store import Store

    assert Store(env.state).audit_log(username="analyst", actions=["backtest_view"])
