"""The person page's picker lists every name of the month's lists in the scope, so opening it
is a list view, and for area users an offenders view, in the audit log (AppTest)."""

from __future__ import annotations

import pytest
from app_fixtures import AppEnv, app_test, goto, make_app_env, shared_fixture

from chi.reading.lists import offender_list, victim_list
from chi.scoring.runs import open_run
from chi.state.auth import make_user
from chi.state.store import Store


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    app_env = make_app_env(tmp_path_factory.mktemp("picker"), shared_fixture(tmp_path_factory))
    monkeypatch.setenv("CHI_CONFIG", str(app_env.config))
    return app_env


def entries(env: AppEnv, username: str) -> list[tuple[str, int | None, str | None]]:
    rows = Store(env.state).audit_log(username=username)
    return [
        (r["action"], r["rows"], r["detail"])
        for r in reversed(rows)
        if r["action"] in ("list_view", "offenders_view")
    ]


@pytest.mark.parametrize("username", ["sergeant", "north"])
def test_the_person_picker_is_audited_as_the_lists_it_shows(env: AppEnv, username: str) -> None:
    at = goto(app_test(env, username), "person")
    assert not at.exception
    run = open_run(env.fixture.runs_dir)
    month = run.manifest.months[-1]
    role, scope_text = {"sergeant": ("neighbourhood", None), "north": ("area", "North")}[username]
    account = Store(env.state).account(username)
    assert account is not None
    scope = make_user(username, account.role, account.scope).scope
    victims = victim_list(run, month, scope).height
    picker = at.selectbox(key="person_pick")
    want = [("list_view", victims, "person picker")]
    if role == "area":
        offenders = offender_list(run, month, scope).height
        want.append(("offenders_view", offenders, "person picker"))
        assert len(picker.options) <= victims + offenders
    else:
        assert len(picker.options) == victims
    assert entries(env, username) == want
    at.run()
    assert entries(env, username) == want, "once per session, not on every rerun"
    assert scope_text is None or scope_text == account.scope
