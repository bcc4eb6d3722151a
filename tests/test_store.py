"""The state store: WAL SQLite, argon2id hashes, lock-out, expiring sessions, append-only audit."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from chi.state.store import SCHEMA_VERSION, Store, StoreError

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
GOOD = "a long enough password"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(
        tmp_path / "state.sqlite",
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


def test_new_store_is_wal_and_versioned(store: Store) -> None:
    assert store.journal_mode() == "wal"
    assert store.schema_version() == SCHEMA_VERSION
    # Opening again applies nothing and loses nothing.
    store.add_user("amy", GOOD, "analyst")
    again = Store(store.path)
    assert again.schema_version() == SCHEMA_VERSION
    assert again.account("amy") is not None


def test_store_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path)
    with sqlite3.connect(path) as con:
        con.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_passwords_are_argon2id_hashes_never_plain(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    with sqlite3.connect(store.path) as con:
        (hashed,) = con.execute("select password_hash from users").fetchone()
    assert hashed.startswith("$argon2id$")
    assert GOOD not in hashed
    assert store.check_password("amy", GOOD).account is not None
    assert store.check_password("amy", "wrong password").failure == "invalid"


def test_short_passwords_and_bad_usernames_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="at least 12"):
        store.add_user("amy", "short", "analyst")
    with pytest.raises(StoreError, match="username"):
        store.add_user("amy smith", GOOD, "analyst")
    store.add_user("amy", GOOD, "analyst")
    with pytest.raises(StoreError, match="already exists"):
        store.add_user("amy", GOOD, "analyst")


def test_lockout_after_repeated_failures_and_it_expires(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    for _ in range(2):
        assert store.check_password("amy", "nope", 3, 15, now=T0).failure == "invalid"
    assert store.check_password("amy", "nope", 3, 15, now=T0).failure == "locked"
    # Even the right password is refused while locked.
    assert store.check_password("amy", GOOD, 3, 15, now=T0 + timedelta(minutes=14)).failure == (
        "locked"
    )
    later = T0 + timedelta(minutes=16)
    assert store.check_password("amy", GOOD, 3, 15, now=later).account is not None
    account = store.account("amy")
    assert account is not None and account.failed_attempts == 0


def test_success_resets_the_failure_count(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    store.check_password("amy", "nope", 3, 15, now=T0)
    store.check_password("amy", "nope", 3, 15, now=T0)
    store.check_password("amy", GOOD, 3, 15, now=T0)
    assert store.check_password("amy", "nope", 3, 15, now=T0).failure == "invalid"


def test_unknown_account_looks_like_a_wrong_password(store: Store) -> None:
    assert store.check_password("nobody", "whatever").failure == "invalid"


def test_unlock_and_set_password(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    for _ in range(5):
        store.check_password("amy", "nope")
    assert store.account("amy") is not None and store.account("amy").locked()  # type: ignore[union-attr]
    store.unlock("amy")
    store.set_password("amy", "another long password")
    assert store.check_password("amy", "another long password").account is not None
    assert store.check_password("amy", GOOD).failure == "invalid"


def test_weak_hashes_are_upgraded_on_sign_in(tmp_path: Path) -> None:
    weak = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    weak.add_user("amy", GOOD, "analyst")
    strong = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=2, memory_cost=2048))
    assert strong.check_password("amy", GOOD).account is not None
    with sqlite3.connect(strong.path) as con:
        (hashed,) = con.execute("select password_hash from users").fetchone()
    assert "m=2048,t=2" in hashed


def test_sessions_expire_absolutely_and_when_idle(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    s = store.start_session("amy", lifetime_hours=8, now=T0)
    assert store.touch_session(s.token, idle_minutes=30, now=T0 + timedelta(minutes=20)) == "amy"
    assert store.touch_session(s.token, idle_minutes=30, now=T0 + timedelta(minutes=45)) == "amy"
    # Idle for more than 30 minutes: ended, and stays ended.
    assert store.touch_session(s.token, idle_minutes=30, now=T0 + timedelta(minutes=80)) is None
    assert store.touch_session(s.token, idle_minutes=30, now=T0 + timedelta(minutes=81)) is None
    # Absolute lifetime, however active.
    s2 = store.start_session("amy", lifetime_hours=1, now=T0)
    t = T0
    for _ in range(5):
        t += timedelta(minutes=10)
        assert store.touch_session(s2.token, idle_minutes=30, now=t) == "amy"
    assert store.touch_session(s2.token, idle_minutes=30, now=T0 + timedelta(hours=1)) is None


def test_session_tokens_are_stored_only_as_hashes(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    s = store.start_session("amy", 8)
    with sqlite3.connect(store.path) as con:
        stored = [r[0] for r in con.execute("select token_hash from sessions")]
    assert s.token not in stored and len(stored[0]) == 64


def test_ended_and_removed_sessions_are_invalid(store: Store) -> None:
    store.add_user("amy", GOOD, "analyst")
    s = store.start_session("amy", 8)
    store.end_session(s.token)
    assert store.touch_session(s.token, 30) is None
    s2 = store.start_session("amy", 8)
    store.remove_user("amy")
    assert store.touch_session(s2.token, 30) is None
    assert store.touch_session("not a token", 30) is None


def test_audit_log_is_append_only(store: Store) -> None:
    store.record("amy", "sign_in")
    store.record("amy", "download", run_id="R1", month="2024-12", scope="E05013051", rows=7)
    with sqlite3.connect(store.path) as con:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("update audit set username = 'bob'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("delete from audit")
    rows = store.audit_log()
    assert [r["action"] for r in rows] == ["download", "sign_in"]
    assert rows[0]["rows"] == 7 and rows[0]["scope"] == "E05013051"


def test_audit_log_filters(store: Store) -> None:
    store.record("amy", "sign_in", now=T0)
    store.record("bob", "sign_in", now=T0 + timedelta(days=1))
    store.record("amy", "list_view", now=T0 + timedelta(days=2))
    assert [r["username"] for r in store.audit_log(username="amy")] == ["amy", "amy"]
    assert [r["action"] for r in store.audit_log(actions=["list_view"])] == ["list_view"]
    day2 = (T0 + timedelta(days=1)).date().isoformat()
    assert [r["username"] for r in store.audit_log(since=day2, until=day2)] == ["bob"]
    users, actions = store.audit_users_and_actions()
    assert users == ["amy", "bob"] and actions == ["list_view", "sign_in"]


def test_demo_accounts_are_flagged(store: Store) -> None:
    store.add_user("sergeant", "demo", "neighbourhood", "E05013051", demo=True)
    store.add_user("amy", GOOD, "analyst")
    assert store.demo_accounts() == ["sergeant"]
    store.set_password("sergeant", GOOD)
    assert store.demo_accounts() == ["sergeant"], "a demo account stays one until removed"


def test_concurrent_writers_do_not_lose_audit_entries(store: Store) -> None:
    def write(n: int) -> None:
        for i in range(20):
            store.record(f"user{n}", "list_view", rows=i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.audit_log()) == 160
