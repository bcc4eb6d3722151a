"""The app's state store: local accounts, sign-in sessions and the audit log, in one SQLite file.

SQLite in WAL mode, so that many app sessions read while one writes; every operation opens
its own short connection, which is safe from Streamlit's session threads. The schema carries
a version (``PRAGMA user_version``) and is brought up to date on opening by applying the
migrations in order, so later features (the meeting decisions) add a migration, not a
rebuild.

What is decided here:

- Passwords are stored only as argon2id hashes (``argon2-cffi``); a hash made with older
  parameters is replaced on the next successful sign-in.
- Sign-in failures are counted per name tried (an account or not) and per client address
  (``sign_in_limits``), checked and counted in one write transaction before the password is
  compared, so parallel guesses cannot outrun the limit. ``lockout_attempts`` failures lock
  the name for ``lockout_minutes``; the lock does not reset the count (one more failure
  after it locks again); a correct password clears the name's count, not the address's. An
  unknown name costs the same time, is counted and locked the same way, and says the same.
- A session is a random token held by the app session; the store keeps only its SHA-256,
  with an absolute expiry and the time it was last used (for the idle limit).
- The audit log is append-only: triggers abort any UPDATE or DELETE on it. It records who,
  when, what, and only the list coordinates needed to answer "who saw what": run id, month,
  scope, row count and, for a person view, the person's id. Never names or dates of birth.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chi import sql

if TYPE_CHECKING:
    from chi.state.passwords import PasswordPolicy

Migration = tuple[str, ...] | Callable[[sqlite3.Connection], None]
"""The statements of one schema version (``sql/state/migrations/<n>_*.sql``, in order), or a
function that makes it."""

MIGRATIONS: list[Migration] = [
    # 1: accounts, sessions, audit log
    (
        "1_users",
        "1_sessions",
        "1_sessions_username",
        "1_audit",
        "1_audit_at",
        "1_audit_no_update",
        "1_audit_no_delete",
    ),
    # 2: area meeting decisions (chi.meetings.decisions): versions append, never change
    (
        "2_decisions",
        "2_decisions_area_month",
        "2_decisions_no_update",
        "2_decisions_no_delete",
        "2_decisions_next_version",
    ),
    # 3: sign-in failures per account name and per client address (chi.state.store.check_password)
    ("3_sign_in_limits",),
    # 4: the audit log's hash chain (see _chain_audit)
    lambda con: _chain_audit(con),
]
SCHEMA_VERSION = len(MIGRATIONS)

AUDIT_COLUMNS = [
    "id",
    "at",
    "username",
    "action",
    "run_id",
    "month",
    "scope",
    "rows",
    "person_id",
    "detail",
]


class StoreError(Exception):
    """A state store that cannot be used (newer schema, unknown account, bad input)."""


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def utc_now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(microsecond=0)


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
        return self.locked_until is not None and _parse(self.locked_until) > utc_now(now)


@dataclass(frozen=True)
class SignIn:
    """The result of a password check: the account, or why not (``invalid`` or ``locked``)."""

    account: Account | None
    failure: str | None = None


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    expires_at: str


class Store:
    def __init__(
        self,
        path: Path,
        hasher: PasswordHasher | None = None,
        password_policy: PasswordPolicy | None = None,
    ) -> None:
        self.path = Path(path)
        self.hasher = hasher or PasswordHasher()
        self.password_policy = password_policy
        """The policy every new password passes (None: the configured one, see ``policy``)."""
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a state store file")
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path.parent}: no such folder for the state store")
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(  # SQLite's messages name no data ("file is not a database")
                f"{self.path}: not a usable chi state store ({exc}); check that it is the "
                "store chi made and that its folder can be written"
            ) from None

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (and for stores of other modules, such as decisions)."""
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            _q(con, "busy_timeout")
            _q(con, "foreign_keys")
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``begin immediate``): what is written inside commits
        together, e.g. a decision and its audit entry, or not at all."""
        with self.connection() as con:
            _q(con, "begin_transaction")
            try:
                yield con
            except BaseException:
                _q(con, "rollback_transaction")
                raise
            _q(con, "commit_transaction")

    def _migrate(self) -> None:
        with self.connection() as con:
            _q(con, "wal")
            _q(con, "begin_transaction")
            try:
                (version,) = _q(con, "user_version").fetchone()
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path}: state store schema {version} is newer than this chi "
                        f"({SCHEMA_VERSION}); upgrade chi"
                    )
                for n in range(version, SCHEMA_VERSION):
                    step = MIGRATIONS[n]
                    if callable(step):
                        step(con)
                    else:
                        for name in step:
                            _q(con, f"migrations/{name}")
                    sql.set_user_version(con, n + 1)
            except BaseException:
                _q(con, "rollback_transaction")
                raise
            _q(con, "commit_transaction")

    def schema_version(self) -> int:
        with self.connection() as con:
            return int(_q(con, "user_version").fetchone()[0])

    def journal_mode(self) -> str:
        with self.connection() as con:
            return str(_q(con, "journal_mode").fetchone()[0])

    def policy(self) -> PasswordPolicy:
        """The password policy given, else the one of the configuration named by
        ``$CHI_CONFIG`` (read once): a store opened without a policy under a production
        configuration never falls back to a laxer one. With no configuration named at all,
        chi's demonstration default (the bundled sample)."""
        if self.password_policy is None:
            import os

            from chi.settings import CONFIG_ENV
            from chi.state.passwords import PasswordPolicy

            named = os.environ.get(CONFIG_ENV, "").strip()
            self.password_policy = PasswordPolicy.configured() if named else PasswordPolicy()
        return self.password_policy

    # accounts

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
                _q(
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
            cur = _q(con, "remove_user", {"username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            _q(con, "end_user_sessions", {"at": timestamp(utc_now(None)), "username": username})

    def set_password(self, username: str, password: str) -> None:
        account = self.account(username)
        if account is None:
            raise StoreError(f"no account named {username!r}")
        # A demo account's new password passes the policy too (only chi demo sets "demo").
        _check_password_policy(password, username, self.policy())
        hashed = self.hasher.hash(password)
        with self.transaction() as con:
            cur = _q(con, "set_password", {"password_hash": hashed, "username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            _q(con, "clear_limit", {"key": _limit_key("account", username)})
            # A new password ends every session signed in with the old one.
            _q(con, "end_user_sessions", {"at": timestamp(utc_now(None)), "username": username})

    def unlock(self, username: str) -> None:
        with self.transaction() as con:
            cur = _q(con, "unlock", {"username": username})
            if cur.rowcount == 0:
                raise StoreError(f"no account named {username!r}")
            _q(con, "clear_limit", {"key": _limit_key("account", username)})

    def account(self, username: str) -> Account | None:
        with self.connection() as con:
            row = _q(con, "account", {"username": username}).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        with self.connection() as con:
            rows = _q(con, "accounts").fetchall()
        return [_account(r) for r in rows]

    def demo_accounts(self) -> list[str]:
        with self.connection() as con:
            return [str(r[0]) for r in _q(con, "demo_accounts").fetchall()]

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
            row = _q(con, "password_hash", {"username": username}).fetchone()
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
            _q(con, "clear_limit", {"key": keys[0][0]})
            _q(con, "signed_in", {"new_hash": new_hash, "username": username})
        account = self.account(username)
        return SignIn(account, None if account else "invalid")

    # sessions

    def start_session(
        self, username: str, lifetime_hours: float, now: datetime | None = None
    ) -> Session:
        t = utc_now(now)
        token = secrets.token_urlsafe(32)
        expires = timestamp(t + timedelta(hours=lifetime_hours))
        with self.transaction() as con:
            _q(
                con,
                "start_session",
                {
                    "token_hash": _token_hash(token),
                    "username": username,
                    "at": timestamp(t),
                    "expires_at": expires,
                },
            )
        return Session(token, username, expires)

    def touch_session(
        self, token: str, idle_minutes: float, now: datetime | None = None
    ) -> str | None:
        """The session's username if it is still valid, marking it used; else None."""
        t = utc_now(now)
        with self.transaction() as con:
            row = _q(con, "session", {"token_hash": _token_hash(token)}).fetchone()
            if row is None or row[3] is not None:
                return None
            username, last_seen, expires_at = str(row[0]), str(row[1]), str(row[2])
            if _parse(expires_at) <= t or _parse(last_seen) + timedelta(minutes=idle_minutes) <= t:
                _q(con, "expire_session", {"at": timestamp(t), "token_hash": _token_hash(token)})
                return None
            _q(con, "touch_session", {"at": timestamp(t), "token_hash": _token_hash(token)})
        return username

    def session_username(self, token: str) -> str | None:
        """Whose session a token is, valid or not (for the audit entry when it has ended)."""
        with self.connection() as con:
            row = _q(con, "session_username", {"token_hash": _token_hash(token)}).fetchone()
        return None if row is None else str(row[0])

    def end_session(self, token: str, now: datetime | None = None) -> None:
        with self.transaction() as con:
            _q(
                con,
                "end_session",
                {"at": timestamp(utc_now(now)), "token_hash": _token_hash(token)},
            )

    # audit log

    def record(
        self,
        username: str,
        action: str,
        *,
        run_id: str | None = None,
        month: str | None = None,
        scope: str | None = None,
        rows: int | None = None,
        person_id: str | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> None:
        with self.transaction() as con:
            append_audit(
                con,
                at=timestamp(utc_now(now)),
                username=username,
                action=action,
                run_id=run_id,
                month=month,
                scope=scope,
                rows=rows,
                person_id=person_id,
                detail=detail,
            )

    def verify_audit(self) -> AuditCheck:
        """Check the audit log's hash chain from its first entry to its last."""
        with self.connection() as con:
            return verify_chain(con)

    def audit_hashes(self, ids: list[int]) -> dict[int, str]:
        """The stored hash of each of the entries ``ids`` (those that exist)."""
        out: dict[int, str] = {}
        with self.connection() as con:
            for entry_id in ids:
                row = _q(con, "audit_hash", {"id": entry_id}).fetchone()
                if row is not None:
                    out[entry_id] = str(row[0])
        return out

    def audit_log(
        self,
        username: str | None = None,
        actions: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """Audit entries, newest first; ``since``/``until`` are dates (YYYY-MM-DD), inclusive."""
        params = {
            "username": username or None,
            "actions": json.dumps(actions) if actions else None,
            "since": since or None,
            "until": (
                timestamp(datetime.fromisoformat(until).replace(tzinfo=UTC) + timedelta(days=1))
                if until
                else None
            ),
            "limit": limit,
        }
        with self.connection() as con:
            cur = _q(con, "audit_log", params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [{k: dict(zip(names, r, strict=True))[k] for k in AUDIT_COLUMNS} for r in rows]

    def audit_users_and_actions(self) -> tuple[list[str], list[str]]:
        with self.connection() as con:
            users = [str(r[0]) for r in _q(con, "audit_users")]
            actions = [str(r[0]) for r in _q(con, "audit_actions")]
        return users, actions


# The audit hash chain. Each entry's ``hash`` is the SHA-256 of its previous entry's hash
# and its own fields (id included, so entries cannot be moved); ``prev_hash`` repeats the
# previous entry's hash. Triggers refuse an entry whose id is not the next one or whose
# ``prev_hash`` is not the last entry's hash, besides any update or delete, so neither
# ``insert or replace`` nor an insert in the middle gets in. Whoever can rewrite the file can
# still rebuild the whole chain or cut off its end, so its head (entry count and latest
# hash) is anchored outside the store (chi.state.anchor: ``chi audit anchor``, the server log) and
# ``chi audit verify --anchor`` compares the chain with every recorded head.

AUDIT_FIELDS = AUDIT_COLUMNS[1:]
"""An entry's fields (its columns but the id), in the order they are hashed."""
GENESIS = ""


def _entry_hash(prev_hash: str, entry_id: int, fields: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, entry_id, *(fields.get(k) for k in AUDIT_FIELDS)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _stored_as_written(name: str, value: Any) -> bool:
    """Whether ``value`` is what :func:`append_audit` writes for field ``name``: None, a
    whole number for ``rows``, text for every other field."""
    if value is None:
        return True
    if name == "rows":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _as_stored(name: str, value: Any) -> Any:
    """``value`` as the audit table stores it, so the hash is of what is read back (SQLite
    would turn ``rows="5"`` into 5 and ``month=202406`` into "202406")."""
    if value is None:
        return None
    if name == "rows":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StoreError(f"audit field rows must be a whole number, not {type(value).__name__}")
        return value
    return str(value)


def append_audit(con: sqlite3.Connection, **fields: Any) -> int:
    """Append one audit entry, chained to the last; call inside a write transaction
    (``Store.transaction``), so that no other entry comes between reading the last one and
    writing this one. Returns the entry's id."""
    unknown = set(fields) - set(AUDIT_FIELDS)
    if unknown:
        raise StoreError(f"unknown audit field(s): {', '.join(sorted(unknown))}")
    fields = {k: _as_stored(k, v) for k, v in fields.items()}
    last = _q(con, "audit_last").fetchone()
    entry_id, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    digest = _entry_hash(prev, entry_id, fields)
    entry = {k: fields.get(k) for k in AUDIT_FIELDS}
    _q(con, "audit_append", {"id": entry_id, **entry, "prev_hash": prev, "hash": digest})
    return entry_id


@dataclass(frozen=True)
class AuditCheck:
    entries: int
    head: str
    """The latest entry's hash (empty for an empty log)."""
    broken_at: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(con: sqlite3.Connection) -> AuditCheck:
    """The first broken link of the audit chain, if any: a missing entry (a gap in the
    ids), an entry whose ``prev_hash`` is not its predecessor's hash, or whose hash does not
    match its fields."""
    prev, expected, count = GENESIS, 1, 0
    cur = _q(con, "audit_entries")
    names = [d[0] for d in cur.description]
    for values in cur:
        row = dict(zip(names, values, strict=True))
        entry_id = int(row["id"])
        fields = {k: row[k] for k in AUDIT_FIELDS}
        prev_hash, digest = row["prev_hash"], row["hash"]
        if entry_id < expected:
            what = f"an entry numbered {entry_id} stands where entry {expected} should"
            return AuditCheck(count, prev, entry_id, what)
        if entry_id != expected:
            what = f"entries {expected} to {entry_id - 1} are missing"
            if entry_id - 1 == expected:
                what = f"entry {expected} is missing"
            return AuditCheck(count, prev, entry_id, what)
        if any(not _stored_as_written(k, v) for k, v in fields.items()):
            # A value of a type chi never writes (a blob, a real): rewritten outside chi.
            return AuditCheck(count, prev, entry_id, "its content was changed after it was written")
        if prev_hash != prev:
            return AuditCheck(count, prev, entry_id, "it does not follow the entry before it")
        if digest != _entry_hash(prev, entry_id, fields):
            return AuditCheck(count, prev, entry_id, "its content was changed after it was written")
        prev, expected, count = str(digest), expected + 1, count + 1
    return AuditCheck(count, prev)


def _chain_audit(con: sqlite3.Connection) -> None:
    """Migration 4: add ``prev_hash`` and ``hash`` to the audit log, chain the entries
    already there in id order, and install the triggers that keep the chain whole."""
    _q(con, "migrations/4_drop_audit_no_update")
    _q(con, "migrations/4_audit_prev_hash")
    _q(con, "migrations/4_audit_hash")
    prev = GENESIS
    cur = _q(con, "migrations/4_audit_unchained")
    names = [d[0] for d in cur.description]
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        fields = {k: row[k] for k in AUDIT_FIELDS}
        digest = _entry_hash(prev, int(row["id"]), fields)
        _q(
            con,
            "migrations/4_audit_chain_entry",
            {"prev_hash": prev, "hash": digest, "id": row["id"]},
        )
        prev = digest
    _q(con, "migrations/4_audit_no_update")
    _q(con, "migrations/4_audit_chained")


def _q(con: sqlite3.Connection, name: str, params: dict[str, Any] | None = None) -> sqlite3.Cursor:
    """Run ``sql/state/<name>.sql`` with its named parameters."""
    return sql.sqlite(con, f"state/{name}", params)


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
        _q(con, "forget_limit", {"key": key, "forget_before": timestamp(t - forget), "now": now})
        row = _q(con, "limit", {"key": key}).fetchone()
        if row is not None and row[1] is not None and _parse(str(row[1])) > t:
            return None
        rows.append((key, most, 0 if row is None else int(row[0])))
    for key, most, failures in rows:
        hit = failures + 1 >= most
        reached = reached or hit
        locked_until = timestamp(t + lock) if hit else None
        _q(con, "count_failure", {"key": key, "now": now, "locked_until": locked_until})
    return reached


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
