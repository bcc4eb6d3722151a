"""Downloads check at the moment they run (AppTest): a download button already on the page
builds nothing once the session has ended (sign-out, idle), the account is removed or its
scope or role narrowed; each refusal is audited as refused, never as a download.

A deferred download's callable is what the server runs when the browser asks for the file,
without a rerun of the page; the tests take it from Streamlit's media file manager as the
page registered it, change the state store, and call it, as a late click does."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from app_fixtures import ARBURY, AppEnv, app_test, goto, make_app_env, shared_fixture

from chi.exports.downloads import DownloadRefused
from chi.state.store import Store


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    app_env = make_app_env(tmp_path_factory.mktemp("gate"), shared_fixture(tmp_path_factory))
    monkeypatch.setenv("CHI_CONFIG", str(app_env.config))
    return app_env


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Callable[[], Any]]]:
    """Every deferred download callable registered, by its file id."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    seen: dict[str, Callable[[], Any]] = {}
    real = MediaFileManager.add_deferred

    def add_deferred(self: Any, data_callable: Callable[[], Any], *a: Any, **kw: Any) -> str:
        file_id = real(self, data_callable, *a, **kw)
        seen[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    yield seen


def button(at: Any, deferred: dict[str, Callable[[], Any]], label: str) -> Callable[[], Any]:
    for b in at.get("download_button"):
        if b.proto.label == label:
            return deferred[b.proto.deferred_file_id]
    raise AssertionError(f"no download button {label!r}")


def actions(env: AppEnv, username: str) -> list[tuple[str, str | None]]:
    rows = Store(env.state).audit_log(
        username=username, actions=["download", "download_refused", "meeting_pack_download"]
    )
    return [(r["action"], r["detail"]) for r in reversed(rows)]


def victim_csv(env: AppEnv, deferred: dict[str, Callable[[], Any]], user: str) -> Callable[[], Any]:
    at = app_test(env, user).run()
    assert not at.exception
    return button(at, deferred, "CSV")


def test_a_download_still_allowed_is_built_and_audited(env: AppEnv, deferred: Any) -> None:
    build = victim_csv(env, deferred, "sergeant")
    data = build()
    assert data.splitlines()[0].decode("utf-8-sig").split(",")[:3] == ["Rank", "Name", "Person id"]
    assert actions(env, "sergeant") == [("download", "csv; the list to act on")]


def test_a_removed_account_downloads_nothing(env: AppEnv, deferred: Any) -> None:
    build = victim_csv(env, deferred, "sergeant")
    Store(env.state).remove_user("sergeant")
    with pytest.raises(DownloadRefused, match="the session has ended"):
        build()
    assert actions(env, "sergeant") == [("download_refused", "download: the session has ended")]


def test_an_idle_session_downloads_nothing(env: AppEnv, deferred: Any) -> None:
    build = victim_csv(env, deferred, "sergeant")
    with sqlite3.connect(env.state) as con:
        con.execute("update sessions set last_seen = '2000-01-01T00:00:00Z'")
    with pytest.raises(DownloadRefused, match="session has ended"):
        build()
    assert [a for a, _ in actions(env, "sergeant")] == ["download_refused"]


def test_a_signed_out_session_downloads_nothing(env: AppEnv, deferred: Any) -> None:
    at = app_test(env, "sergeant").run()
    build = button(at, deferred, "Excel (XLSX)")
    at.sidebar.button(key="sign_out").click().run()
    with pytest.raises(DownloadRefused):
        build()
    assert [a for a, _ in actions(env, "sergeant")] == ["download_refused"]


def test_a_narrowed_scope_downloads_nothing(env: AppEnv, deferred: Any) -> None:
    build = victim_csv(env, deferred, "sergeant")  # Arbury and Abbey
    with sqlite3.connect(env.state) as con:
        con.execute("update users set scope = ? where username = 'sergeant'", (ARBURY,))
    with pytest.raises(DownloadRefused, match="no longer has this scope"):
        build()
    assert actions(env, "sergeant") == [
        ("download_refused", "download: the account no longer has this scope")
    ]


def test_a_meeting_pack_checks_the_role_and_area_when_it_runs(env: AppEnv, deferred: Any) -> None:
    at = goto(app_test(env, "north"), "meeting")
    assert not at.exception
    build = button(at, deferred, "Meeting pack (XLSX)")
    with sqlite3.connect(env.state) as con:
        con.execute("update users set scope = 'South' where username = 'north'")
    with pytest.raises(DownloadRefused, match="scope"):
        build()
    with sqlite3.connect(env.state) as con:
        con.execute(
            "update users set role = 'neighbourhood', scope = ? where username = 'north'", (ARBURY,)
        )
    with pytest.raises(DownloadRefused, match="role no longer has this page"):
        build()
    assert [a for a, _ in actions(env, "north")] == ["download_refused", "download_refused"]
