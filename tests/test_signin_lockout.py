"""Sign-in lock-out against parallel guessing (store level): the check and the count happen in
one write transaction, so no burst of simultaneous attempts gets more password checks than the
limit, a lock never resets the count, a client address is limited across accounts, and an
unknown account answers exactly as a locked one does."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher

from chi.settings import AppConfig
from chi.state.auth import sign_in_local
from chi.state.store import Store

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
GOOD = "a long enough password"


class CountingHasher(PasswordHasher):
    """Counts the password checks made against real account hashes."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checks = 0
        self._lock = threading.Lock()
        self.real: set[str] = set()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if (hash.decode() if isinstance(hash, bytes) else hash) in self.real:
            with self._lock:
                self.checks += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def store(tmp_path: Path, hasher: CountingHasher) -> Store:
    s = Store(tmp_path / "state.sqlite", hasher=hasher)
    s.add_user("amy", GOOD, "analyst")
    import sqlite3

    with sqlite3.connect(s.path) as con:
        hasher.real.add(con.execute("select password_hash from users").fetchone()[0])
    return s


def _burst(store: Store, passwords: list[str], limit: int, client: str | None = None) -> list[str]:
    """Every password at the same moment from its own thread; each result's failure."""
    barrier = threading.Barrier(len(passwords))
    out: list[str] = [""] * len(passwords)

    def attempt(i: int) -> None:
        barrier.wait()
        extra: dict[str, Any] = {} if client is None else {"client": client}
        r = store.check_password("amy", passwords[i], limit, 15, **extra)
        out[i] = r.failure or "ok"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_forty_parallel_guesses_get_no_more_checks_than_the_limit(
    store: Store, hasher: CountingHasher
) -> None:
    results = _burst(store, [f"guess {i}" for i in range(40)], limit=5)
    assert hasher.checks == 5, "only five passwords were ever compared with the hash"
    # The first four are told the password is wrong; the fifth, which reached the limit, and
    # every attempt after it are told the account is locked.
    assert results.count("invalid") == 4
    assert results.count("locked") == 36
    account = store.account("amy")
    assert account is not None and account.locked()


def test_the_right_password_inside_a_burst_is_refused_past_the_limit(
    store: Store, hasher: CountingHasher
) -> None:
    for i in range(4):
        assert store.check_password("amy", f"guess {i}", 5, 15).failure == "invalid"
    assert store.check_password("amy", "guess 4", 5, 15).failure == "locked"
    # The burst arrives with the lock already in place: even the right password is refused
    # and not compared with the hash at all.
    results = _burst(store, [GOOD, *(f"again {i}" for i in range(19))], limit=5)
    assert results == ["locked"] * 20
    assert hasher.checks == 5


def test_a_correct_password_in_a_burst_never_beats_the_count(
    store: Store, hasher: CountingHasher
) -> None:
    """Whatever order the threads run in, the right password signs in only as one of the
    first five attempts; when it does not, exactly five passwords were checked."""
    for _ in range(5):
        hasher.checks = 0
        store.unlock("amy")
        results = _burst(store, [GOOD, *(f"guess {i}" for i in range(29))], limit=5)
        assert results[0] in ("ok", "locked")
        if results[0] == "locked":
            assert hasher.checks == 5
        else:
            # A correct sign-in gives its reservation back: attempts after it start a new
            # count, never more than five checks on either side of it.
            assert hasher.checks <= 10
        assert results.count("invalid") <= 8


def test_locking_keeps_the_count_so_one_more_failure_locks_again(store: Store) -> None:
    for _ in range(3):
        store.check_password("amy", "nope", 3, 15, now=T0)
    account = store.account("amy")
    assert account is not None and account.locked(T0) and account.failed_attempts == 3
    after = T0 + timedelta(minutes=16)
    assert store.check_password("amy", "nope", 3, 15, now=after).failure == "locked"
    account = store.account("amy")
    assert account is not None and account.locked(after) and account.failed_attempts == 4
    # The right password after that lock has run out signs in and clears the count.
    later = after + timedelta(minutes=16)
    assert store.check_password("amy", GOOD, 3, 15, now=later).account is not None
    account = store.account("amy")
    assert account is not None and account.failed_attempts == 0 and not account.locked(later)


def test_an_unknown_account_locks_exactly_like_a_real_one(store: Store) -> None:
    real = [store.check_password("amy", "nope", 3, 15, now=T0).failure for _ in range(5)]
    unknown = [store.check_password("nobody", "nope", 3, 15, now=T0).failure for _ in range(5)]
    assert real == unknown == ["invalid", "invalid", "locked", "locked", "locked"]


def test_the_app_message_is_the_same_for_unknown_and_locked_accounts(store: Store) -> None:
    config = AppConfig(state_path=store.path, lockout_attempts=3)
    real = [sign_in_local(store, config, "amy", "nope").message for _ in range(5)]
    unknown = [sign_in_local(store, config, "nobody", "nope").message for _ in range(5)]
    assert real == unknown
    assert sign_in_local(store, config, "amy", GOOD).message == real[-1]


def test_one_client_address_is_limited_across_accounts(store: Store) -> None:
    for i in range(8):
        store.add_user(f"user{i}", GOOD, "analyst")
    seen = [
        store.check_password(
            f"user{i % 8}", "nope", 5, 15, now=T0, client="203.0.113.9", client_attempts=10
        ).failure
        for i in range(12)
    ]
    assert seen == ["invalid"] * 9 + ["locked"] * 3
    # The address is locked even for a right password; another address is not.
    assert (
        store.check_password(
            "user1", GOOD, 5, 15, now=T0, client="203.0.113.9", client_attempts=10
        ).failure
        == "locked"
    )
    assert (
        store.check_password(
            "user1", GOOD, 5, 15, now=T0, client="198.51.100.7", client_attempts=10
        ).account
        is not None
    )


def _guess_in_process(path: str, start: object, i: int, results: object) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    s = Store(Path(path), hasher=hasher)
    start.wait()  # type: ignore[attr-defined]
    r = s.check_password("amy", f"process guess {i}", 5, 15)
    results.put(r.failure or "ok")  # type: ignore[attr-defined]


def test_processes_guessing_at_once_share_the_limit(store: Store) -> None:
    ctx = multiprocessing.get_context("spawn")
    n = 12
    start = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_guess_in_process, args=(str(store.path), start, i, results))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    # Twelve spawned interpreters importing chi can take minutes on a loaded machine: wait
    # for as long as any of them is still alive (a deadline only against a hang), and fail
    # at once, naming the exit codes, if one died without answering.
    got: list[str] = []
    deadline = time.monotonic() + 900
    while len(got) < n and time.monotonic() < deadline:
        try:
            got.append(results.get(timeout=5))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    for p in procs:
        p.join(60)
    assert len(got) == n, f"{len(got)} of {n} answered; exit codes {[p.exitcode for p in procs]}"
    assert sorted(got) == sorted(["invalid"] * 4 + ["locked"] * 8)
