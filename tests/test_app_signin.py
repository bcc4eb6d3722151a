"""Signing in to the app (AppTest): the local form, lock-out, expiring sessions, sign-out,
OIDC claims, the production check on demo accounts, and clear pages when data is missing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import (
    ARBURY,
    CASTLE,
    PASSWORD,
    AppEnv,
    Fixture,
    app_test,
    make_app_env,
    shared_fixture,
)

from chi.state.passwords import PasswordPolicy
from chi.state.store import Store


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return shared_fixture(tmp_path_factory)


@pytest.fixture
def env(tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    app_env = make_app_env(tmp_path, fixture, extra="[auth]\nlockout_attempts = 3\n")
    monkeypatch.setenv("CHI_CONFIG", str(app_env.config))
    return app_env


def sign_in(at: Any, username: str, password: str) -> Any:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    return at.form_submit_button[0].click().run()


def titles(at: Any) -> list[str]:
    return [t.value for t in at.title]


def actions(env: AppEnv, username: str | None = None) -> list[str]:
    return [r["action"] for r in reversed(Store(env.state).audit_log(username=username))]


def test_sign_in_with_the_form(env: AppEnv) -> None:
    at = app_test(env).run()
    assert titles(at) == ["chi: victim harm lists"]
    assert not at.caption or "Demonstration" not in " ".join(c.value for c in at.caption)
    sign_in(at, "sergeant", PASSWORD)
    assert not at.exception
    assert titles(at) == ["Victim list: Abbey, Arbury"]
    assert actions(env, "sergeant") == ["sign_in", "list_view"]


def test_wrong_password_and_unknown_account_say_the_same(env: AppEnv) -> None:
    at = sign_in(app_test(env).run(), "sergeant", "not the password")
    message = [e.value for e in at.error]
    assert message == ["The username or password is not right."]
    at = sign_in(at, "nobody-here", "not the password")
    assert [e.value for e in at.error] == message
    log = Store(env.state).audit_log(actions=["sign_in_failed"])
    assert [r["username"] for r in log] == ["(unknown account)", "sergeant"]
    assert not at.dataframe


def test_lock_out_after_repeated_failures(env: AppEnv) -> None:
    at = app_test(env).run()
    for _ in range(3):
        at = sign_in(at, "castle", "not the password")
    assert "locked" in at.error[0].value
    at = sign_in(at, "castle", PASSWORD)
    assert "locked" in at.error[0].value
    assert titles(at) == ["chi: victim harm lists"]
    Store(env.state).unlock("castle")
    at = sign_in(at, "castle", PASSWORD)
    assert titles(at) == [f"Victim list: Castle ({CASTLE})"]


def test_idle_session_expires_and_asks_to_sign_in_again(env: AppEnv) -> None:
    at = app_test(env, "sergeant").run()
    assert titles(at)[0].startswith("Victim list")
    with sqlite3.connect(env.state) as con:
        con.execute("update sessions set last_seen = '2000-01-01T00:00:00Z'")
    at.run()
    assert titles(at) == ["chi: victim harm lists"]
    assert [i.value for i in at.info] == ["Your session has ended. Please sign in again."]
    assert "session_expired" in actions(env, "sergeant")
    at.run()
    assert titles(at) == ["chi: victim harm lists"], "stays signed out"


def test_removed_account_is_signed_out_at_once(env: AppEnv) -> None:
    at = app_test(env, "castle").run()
    assert titles(at)[0].startswith("Victim list")
    Store(env.state).remove_user("castle")
    at.run()
    assert titles(at) == ["chi: victim harm lists"] and not at.dataframe


def test_sign_out(env: AppEnv) -> None:
    at = app_test(env, "sergeant").run()
    token = at.session_state["chi_session"]
    at.sidebar.button(key="sign_out").click().run()
    assert titles(at) == ["chi: victim harm lists"]
    assert Store(env.state).touch_session(token, 60) is None
    assert actions(env, "sergeant")[-1] == "sign_out"


def test_production_refuses_to_start_with_demo_accounts(env: AppEnv) -> None:
    # Made as `chi demo` makes them (its own demonstration policy), then the store is
    # used by a production configuration: no production policy makes demo accounts.
    demo_store = Store(env.state, password_policy=PasswordPolicy())
    demo_store.add_user("demo-sergeant", "demo", "neighbourhood", ARBURY, demo=True)
    at = app_test(env, "sergeant").run()
    assert titles(at) == ["chi refuses to start"]
    assert "demo-sergeant" in at.error[0].value
    assert not at.dataframe and not at.text_input


def test_demo_mode_allows_demo_accounts(
    tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_app_env(tmp_path, fixture, demo=True)
    Store(env.state).add_user("demo-sergeant", "demo", "neighbourhood", ARBURY, demo=True)
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = app_test(env).run()
    assert "Demonstration mode" in " ".join(c.value for c in at.caption)
    at = sign_in(at, "demo-sergeant", "demo")
    assert titles(at) == [f"Victim list: Arbury ({ARBURY})"]


@pytest.fixture
def oidc_env(tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    env = make_app_env(tmp_path, fixture, extra='[auth]\nmode = "oidc"\n')
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    return env


def test_oidc_sign_in_takes_role_and_scope_from_claims(oidc_env: AppEnv) -> None:
    at = app_test(oidc_env)
    at.user = {"is_logged_in": False}
    at.run()
    assert titles(at) == ["chi: victim harm lists"]
    assert [b.label for b in at.button] == ["Sign in"]
    at.user = {
        "is_logged_in": True,
        "email": "pc.smith@force.example",
        "chi_role": "neighbourhood",
        "chi_neighbourhoods": [ARBURY],
    }
    at.run()
    assert not at.exception
    assert titles(at) == [f"Victim list: Arbury ({ARBURY})"]
    assert actions(oidc_env, "pc.smith@force.example") == ["sign_in", "list_view"]
    at.run()
    assert actions(oidc_env, "pc.smith@force.example") == ["sign_in", "list_view"], "one session"


def test_oidc_sign_in_without_a_usable_role_gets_no_data(oidc_env: AppEnv) -> None:
    at = app_test(oidc_env)
    at.user = {"is_logged_in": True, "email": "visitor@force.example", "chi_role": "superuser"}
    at.run()
    assert "cannot give you access" in at.error[0].value
    assert not at.dataframe and not at.title


def test_no_run_yet_is_a_clear_page(
    tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Fixture(fixture.extract, tmp_path / "no-runs", "", [])
    env = make_app_env(tmp_path / "app", empty)
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = app_test(env, "sergeant").run()
    assert not at.exception
    assert titles(at) == ["No lists yet"]
    at = app_test(env, "analyst").run()
    assert "chi score" in " ".join(m.value for m in at.markdown)


def test_a_damaged_run_is_a_clear_page(
    tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_app_env(tmp_path, fixture, own_runs=True)
    run = env.root / "runs" / fixture.run_id
    (run / "victimisations.parquet").unlink()
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = app_test(env, "sergeant").run()
    assert not at.exception
    assert titles(at) == ["This run cannot be read"]
    shutil.rmtree(run)
    at = app_test(env, "sergeant").run()
    assert titles(at) == ["No lists yet"]


def test_a_bad_configuration_is_a_clear_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "chi.toml"
    config.write_text('[auth]\nmode = "ldap"\n', encoding="utf-8")
    monkeypatch.setenv("CHI_CONFIG", str(config))
    from app_fixtures import APP
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert titles(at) == ["chi cannot start"]
    assert "auth.mode" in at.error[0].value
