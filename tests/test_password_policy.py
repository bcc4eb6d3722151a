"""The local-account password policy (store and command line): length, breached or easily
guessed passwords, the username; a new password ends the account's sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from chi.state.passwords import problems
from chi.state.store import Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short pass", "at least 12"),
        ("password1234", "leaked in breaches"),
        ("qwertyuiop123", "leaked in breaches"),
        ("iloveyou1234", "too easy to guess"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("jsmith-secret-1", "must not contain the username"),
        ("JSmith2025!!xx", "must not contain the username"),
        ("smith and more words", "must not contain the username"),
    ],
)
def test_weak_passwords_are_refused(store: Store, password: str, words: str) -> None:
    assert any(
        words in p for p in problems(password, "j.smith" if "smith " in password else "jsmith")
    )
    with pytest.raises(StoreError, match=words) as err:
        store.add_user("j.smith" if "smith " in password else "jsmith", password, "analyst")
    assert password not in str(err.value), "the message never quotes the password"


@pytest.mark.parametrize(
    "password", ["correct horse battery", "tr0ub4dor&3xyzq", "plinth marmalade otter kite"]
)
def test_strong_passwords_are_accepted(store: Store, password: str) -> None:
    assert problems(password, "jsmith") == []
    store.add_user("jsmith", password, "analyst")
    assert store.check_password("jsmith", password).account is not None


def test_set_password_applies_the_policy_and_ends_sessions(store: Store) -> None:
    store.add_user("jsmith", "correct horse battery", "analyst")
    session = store.start_session("jsmith", 8)
    assert store.touch_session(session.token, 60) == "jsmith"
    with pytest.raises(StoreError, match="leaked"):
        store.set_password("jsmith", "password1234")
    assert store.touch_session(session.token, 60) == "jsmith", "a refused change ends nothing"
    store.set_password("jsmith", "plinth marmalade otter kite")
    assert store.touch_session(session.token, 60) is None


def test_demo_accounts_are_outside_the_policy(store: Store) -> None:
    store.add_user("sergeant", "demo", "analyst", demo=True)
    assert store.check_password("sergeant", "demo").account is not None
