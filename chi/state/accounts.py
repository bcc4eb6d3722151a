"""Local accounts and sign-in: argon2id password hashes, the password policy and the lock-outs.

- Passwords are stored only as argon2id hashes (``argon2-cffi``); a hash made with older
  parameters is replaced on the next successful sign-in. A new password (but a demo
  account's) passes the password policy (:mod:`chi.state.passwords`).
- Sign-in failures are counted per name tried (an account or not) and per client address
  (``sign_in_limits``), checked and counted in one write transaction before the password is
  compared, so parallel guesses cannot outrun the limit. ``lockout_attempts`` failures lock
  the name for ``lockout_minutes``; the lock does not reset the count (one more failure
  after it locks again); a correct password clears the name's count, not the address's. An
  unknown name costs the same time, is counted and locked the same way, and says the same.
"""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chi.state.db import Database, StoreError, parse_timestamp, q, timestamp, utc_now

if TYPE_CHECKING:
    from chi.state.passwords import PasswordPolicy


def unconfigured_policy() -> PasswordPolicy:
    """The policy of a store opened with none and no ``$CHI_CONFIG``: the defaults of the
    configuration, which are production's (never the demonstration's laxer one)."""
    from chi.settings import AppConfig
    from chi.state.passwords import PasswordPolicy

    return PasswordPolicy.from_config(AppConfig())


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    scope: str
    demo: bool
    created_at: str
    failed_attempts: int
    locked_until: str | None

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and parse_timestamp(self.locked_until) > utc_now(now)


@dataclass(frozen=True)
class SignIn:
    """The result of a password check: the account, or why not (``invalid`` or ``locked``)."""

    account: Account | None
    failure: str | None = None


class Accounts(Database):
    """The accounts' part of the store (``hasher`` and ``password_policy`` are set by the
    store)."""

    hasher: PasswordHasher
    password_policy: PasswordPolicy | None
    """The policy every new password passes (None: chi.state.passwords' default)."""

    def policy(self) -> PasswordPolicy:
        """The password policy given, else the one of the configuration named by
        ``$CHI_CONFIG`` (read once): a store opened without a policy under a production
        configuration never falls back to a laxer one. With no configuration named at all,
        :func:`unconfigured_policy`: production's (``app.demo`` defaults to false), which
        sets no password without a maintained breached-password check and makes no demo
        account. A demonstration passes its policy explicitly (``chi demo`` does)."""
        if self.password_policy is None:
            import os

            from chi.settings import CONFIG_ENV
            from chi.state.passwords import PasswordPolicy

            named = os.environ.get(CONFIG_ENV, "").strip()
            self.password_policy = PasswordPolicy.configured() if named else unconfigured_policy()
        return self.password_policy

    def add_user(
        self,
        username: str,
        password: str,
        role: str,
        scope: str = "",
        demo: bool = False,
        now: datetime | None = None,
    ) -> Account:
        username = _check_username(username)
        if demo and not password:
            raise StoreError("a demo account needs a password")
        if demo and self.policy().production:
            raise StoreError(
                "demo accounts are made by `chi demo` only, never under a production "
                "configuration (app.demo = false)"
            )
        if not demo:
            _check_password_policy(password, username, self.policy())
        hashed = self.hasher.hash(password)
        try:
            with self.transaction() as con:
                q(
                    con,
                    "add_user",
                    {
                        "username": username,
                        "role": role,
                        "scope": scope,
                        "password_hash": hashed,
                        "demo": int(demo),
                        "created_at": timestamp(utc_now(now)),
                    },
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"an account named {username!r} already exists") from None
        account = self.account(username)
        assert account is not None
        return account

    def remove_user(self, username: str) -> None:
        with self.transaction() as con:
            cur = q(con, "remove_user", {"username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            q(con, "end_user_sessions", {"at": timestamp(utc_now(None)), "username": username})

    def set_password(self, username: str, password: str) -> None:
        account = self.account(username)
        if account is None:
            raise StoreError(f"no account named {username!r}")
        # A demo account's new password passes the policy too (only chi demo sets "demo").
        _check_password_policy(password, username, self.policy())
        hashed = self.hasher.hash(password)
        with self.transaction() as con:
            cur = q(con, "set_password", {"password_hash": hashed, "username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            q(con, "clear_limit", {"key": _limit_key("account", username)})
            # A new password ends every session signed in with the old one.
            q(con, "end_user_sessions", {"at": timestamp(utc_now(None)), "username": username})

    def unlock(self, username: str) -> None:
        with self.transaction() as con:
            cur = q(con, "unlock", {"username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            q(con, "clear_limit", {"key": _limit_key("account", username)})

    def account(self, username: str) -> Account | None:
        with self.connection() as con:
            row = q(con, "account", {"username": username}).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        with self.connection() as con:
            rows = q(con, "accounts").fetchall()
        return [_account(r) for r in rows]

    def demo_accounts(self) -> list[str]:
        with self.connection() as con:
            return [str(r[0]) for r in q(con, "demo_accounts").fetchall()]

    def check_password(
        self,
        username: str,
        password: str,
        lockout_attempts: int = 5,
        lockout_minutes: float = 15.0,
        now: datetime | None = None,
        client: str | None = None,
        client_attempts: int | None = None,
    ) -> SignIn:
        """Check a password, counting failures per account name and per client address.

        The lock check and the count happen in one write transaction (``begin immediate``)
        *before* the password is compared: each attempt reserves one failure, so however many
        attempts arrive at once, no more than the limit are ever compared with the hash. A
        correct password gives the account's reservation back (the client's count stays). A
        lock never resets the count, so after it runs out one more failure locks again. Names
        without an account are counted and locked exactly like accounts, so the answer
        (``invalid`` or ``locked``) never tells whether an account exists."""
        t = utc_now(now)
        keys = [(_limit_key("account", username), lockout_attempts, timedelta(hours=24))]
        if client:
            most = client_attempts or max(4 * lockout_attempts, 20)
            keys.append((_limit_key("client", client), most, timedelta(minutes=lockout_minutes)))
        lock_for = timedelta(minutes=lockout_minutes)
        with self.transaction() as con:
            row = q(con, "password_hash", {"username": username}).fetchone()
            reached = _reserve_attempt(con, keys, t, lock_for)
        if reached is None:
            return SignIn(None, "locked")
        if row is None:
            _spend_equal_time(self.hasher, password)
            return SignIn(None, "locked" if reached else "invalid")
        hashed = str(row[0])
        try:
            self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return SignIn(None, "locked" if reached else "invalid")
        new_hash = self.hasher.hash(password) if self.hasher.check_needs_rehash(hashed) else None
        with self.transaction() as con:
            q(con, "clear_limit", {"key": keys[0][0]})
            q(con, "signed_in", {"new_hash": new_hash, "username": username})
        account = self.account(username)
        return SignIn(account, None if account else "invalid")


def _account(row: tuple[Any, ...]) -> Account:
    return Account(
        username=str(row[0]),
        role=str(row[1]),
        scope=str(row[2]),
        demo=bool(row[3]),
        created_at=str(row[4]),
        failed_attempts=int(row[5]),
        locked_until=None if row[6] is None else str(row[6]),
    )


def _limit_key(kind: str, name: str) -> str:
    return f"{kind}:{name[:200]}"


def _reserve_attempt(
    con: sqlite3.Connection, keys: list[tuple[str, int, timedelta]], t: datetime, lock: timedelta
) -> bool | None:
    """Inside the caller's write transaction: None if any key is locked now (nothing counted);
    else count this attempt as a failure on every key (given back on success) and say
    whether it reached a limit (the key is then locked from now for ``lock``).

    A key's count is forgotten after ``forget`` without failures (24 hours for an account
    name, the lock-out time for a client address), never by a lock."""
    now = timestamp(t)
    reached = False
    rows = []
    for key, most, forget in keys:
        q(con, "forget_limit", {"key": key, "forget_before": timestamp(t - forget), "now": now})
        row = q(con, "limit", {"key": key}).fetchone()
        if row is not None and row[1] is not None and parse_timestamp(str(row[1])) > t:
            return None
        rows.append((key, most, 0 if row is None else int(row[0])))
    for key, most, failures in rows:
        hit = failures + 1 >= most
        reached = reached or hit
        locked_until = timestamp(t + lock) if hit else None
        q(con, "count_failure", {"key": key, "now": now, "locked_until": locked_until})
    return reached


def _check_password_policy(
    password: str, username: str, policy: PasswordPolicy | None = None
) -> None:
    from chi.state.passwords import problems

    found = problems(password, username, policy)
    if found:
        raise StoreError("; ".join(found))


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise StoreError("a username is 1-64 letters, digits and . _ - @ (no spaces)")
    return name


_DUMMY_HASHES: dict[str, str] = {}


def _spend_equal_time(hasher: PasswordHasher, password: str) -> None:
    """Verify against a throw-away hash, so unknown accounts cost the same as known ones."""
    key = f"{hasher.time_cost}/{hasher.memory_cost}/{hasher.parallelism}"
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash(secrets.token_urlsafe(16))
    with suppress(VerificationError):
        hasher.verify(_DUMMY_HASHES[key], password)
