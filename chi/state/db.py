"""The state store's database: one SQLite file in WAL mode, its connections and migrations.

Every operation opens its own short connection, which is safe from Streamlit's session
threads; a write is one ``begin immediate`` transaction. The schema carries a version
(``PRAGMA user_version``) and is brought up to date on opening by applying the migrations in
order (:data:`SQL_MIGRATIONS` here, then the audit chain's, assembled as
``chi.state.store.MIGRATIONS``), so a later feature (the meeting decisions) adds a migration,
not a rebuild. Every statement is a file of ``sql/state/``, run by :func:`q`. The accounts,
sessions and audit log are kept by :mod:`chi.state.accounts`, :mod:`chi.state.sessions` and
:mod:`chi.state.audit`, each a part of the one :class:`chi.state.store.Store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chi import sql

Migration = tuple[str, ...] | Callable[[sqlite3.Connection], None]
"""The statements of one schema version (``sql/state/migrations/<n>_*.sql``, in order), or a
function that makes it."""

SQL_MIGRATIONS: list[Migration] = [
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
    # 3: sign-in failures per account name and per client address (chi.state.accounts)
    ("3_sign_in_limits",),
]
"""The schema versions made by SQL files alone (1 to 3), in order."""


class StoreError(Exception):
    """A state store that cannot be used (newer schema, unknown account, bad input)."""


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def utc_now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(microsecond=0)


def q(con: sqlite3.Connection, name: str, params: dict[str, Any] | None = None) -> sqlite3.Cursor:
    """Run ``sql/state/<name>.sql`` with its named parameters."""
    return sql.sqlite(con, f"state/{name}", params)


class Database:
    """A state store file, migrated on opening; the parts of the store subclass it."""

    def __init__(self, path: Path, migrations: Sequence[Migration]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a state store file")
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path.parent}: no such folder for the state store")
        try:
            self._migrate(migrations)
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
            q(con, "busy_timeout")
            q(con, "foreign_keys")
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``begin immediate``): what is written inside commits
        together, e.g. a decision and its audit entry, or not at all."""
        with self.connection() as con:
            q(con, "begin_transaction")
            try:
                yield con
            except BaseException:
                q(con, "rollback_transaction")
                raise
            q(con, "commit_transaction")

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        latest = len(migrations)
        with self.connection() as con:
            q(con, "wal")
            q(con, "begin_transaction")
            try:
                (version,) = q(con, "user_version").fetchone()
                if version > latest:
                    raise StoreError(
                        f"{self.path}: state store schema {version} is newer than this chi "
                        f"({latest}); upgrade chi"
                    )
                for n in range(version, latest):
                    step = migrations[n]
                    if callable(step):
                        step(con)
                    else:
                        for name in step:
                            q(con, f"migrations/{name}")
                    sql.set_user_version(con, n + 1)
            except BaseException:
                q(con, "rollback_transaction")
                raise
            q(con, "commit_transaction")

    def schema_version(self) -> int:
        with self.connection() as con:
            return int(q(con, "user_version").fetchone()[0])

    def journal_mode(self) -> str:
        with self.connection() as con:
            return str(q(con, "journal_mode").fetchone()[0])
