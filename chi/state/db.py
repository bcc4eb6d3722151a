"""The state store's database: one SQLite file in WAL mode, its connections and migrations.

Every operation opens its own short connection, which is safe from Streamlit's session
threads; a write is one ``begin immediate`` transaction. The schema carries a version
(``PRAGMA user_version``) and is brought up to date on opening by applying the migrations in
order (:data:`SQL_MIGRATIONS` here, then the audit chain's, assembled in
``chi.state.store``), so a later feature adds a migration, not a rebuild. The accounts,
sessions and audit log are kept by :mod:`chi.state.accounts`, :mod:`chi.state.sessions` and
:mod:`chi.state.audit`, each a part of the one :class:`chi.state.store.Store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

Migration = str | Callable[[sqlite3.Connection], None]

SQL_MIGRATIONS: list[Migration] = [
    # 1: accounts, sessions, audit log
    """
    create table users (
        username text primary key,
        role text not null,
        scope text not null default '',
        password_hash text not null,
        demo integer not null default 0,
        created_at text not null,
        failed_attempts integer not null default 0,
        locked_until text
    );
    create table sessions (
        token_hash text primary key,
        username text not null,
        created_at text not null,
        last_seen text not null,
        expires_at text not null,
        ended_at text
    );
    create index sessions_username on sessions (username);
    create table audit (
        id integer primary key autoincrement,
        at text not null,
        username text not null,
        action text not null,
        run_id text,
        month text,
        scope text,
        rows integer,
        person_id text,
        detail text
    );
    create index audit_at on audit (at);
    create trigger audit_no_update before update on audit
    begin select raise(abort, 'the audit log is append-only'); end;
    create trigger audit_no_delete before delete on audit
    begin select raise(abort, 'the audit log is append-only'); end;
    """,
    # 2: area meeting decisions (chi.meetings.decisions): versions append, never change
    """
    create table decisions (
        id integer primary key autoincrement,
        subject_type text not null check (subject_type in ('victim', 'offender')),
        person_id text not null,
        list_month text not null,
        area text not null,
        version integer not null check (version >= 1),
        meeting_date text not null,
        decision text not null,
        service text not null default '',
        engagement_start text,
        engagement_end text,
        notes text not null default '',
        owner text not null default '',
        review_date text,
        recorded_by text not null,
        recorded_at text not null,
        source text not null default 'app',
        unique (subject_type, person_id, version)
    );
    create index decisions_area_month on decisions (area, list_month);
    create trigger decisions_no_update before update on decisions
    begin select raise(abort, 'decisions are append-only: save a new version'); end;
    create trigger decisions_no_delete before delete on decisions
    begin select raise(abort, 'decisions are append-only: save a new version'); end;
    create trigger decisions_next_version before insert on decisions
    when new.version <> 1 + coalesce((select max(version) from decisions
        where subject_type = new.subject_type and person_id = new.person_id), 0)
    begin select raise(abort, 'a decision version must follow the latest version'); end;
    """,
    # 3: sign-in failures per account name and per client address (chi.state.accounts)
    """
    create table sign_in_limits (
        key text primary key,
        failures integer not null,
        first_at text not null,
        last_at text not null,
        locked_until text
    );
    """,
]
"""The schema's SQL migrations (1 to 3), in order."""


class StoreError(Exception):
    """A state store that cannot be used (newer schema, unknown account, bad input)."""


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def utc_now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).replace(microsecond=0)


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
            con.execute("pragma busy_timeout = 30000")
            con.execute("pragma foreign_keys = on")
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``begin immediate``): what is written inside commits
        together, e.g. a decision and its audit entry, or not at all."""
        with self.connection() as con:
            con.execute("begin immediate")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        with self.connection() as con:
            con.execute("pragma journal_mode = wal")
            con.execute("begin immediate")
            try:
                (version,) = con.execute("pragma user_version").fetchone()
                if version > len(migrations):
                    raise StoreError(
                        f"{self.path}: state store schema {version} is newer than this chi "
                        f"({len(migrations)}); upgrade chi"
                    )
                for n in range(version, len(migrations)):
                    step = migrations[n]
                    if callable(step):
                        step(con)
                    else:
                        for statement in statements(step):
                            con.execute(statement)
                    con.execute(f"pragma user_version = {n + 1}")
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def schema_version(self) -> int:
        with self.connection() as con:
            return int(con.execute("pragma user_version").fetchone()[0])

    def journal_mode(self) -> str:
        with self.connection() as con:
            return str(con.execute("pragma journal_mode").fetchone()[0])


def statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buf = [], ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
