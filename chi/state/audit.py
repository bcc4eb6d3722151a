"""The audit log: append-only, hash-chained, and the only record of who saw what.

Triggers abort any UPDATE or DELETE on it. It records who, when, what, and only the list
coordinates needed to answer "who saw what": run id, month, scope, row count and, for a
person view, the person's id. Never names or dates of birth.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chi.state.db import Database, StoreError, statements, timestamp, utc_now

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


class AuditLog(Database):
    """The audit log's part of the store."""

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

    def audit_log(
        self,
        username: str | None = None,
        actions: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """Audit entries, newest first; ``since``/``until`` are dates (YYYY-MM-DD), inclusive."""
        where, params = ["1 = 1"], []
        if username:
            where.append("username = ?")
            params.append(username)
        if actions:
            where.append(f"action in ({', '.join('?' for _ in actions)})")
            params.extend(actions)
        if since:
            where.append("at >= ?")
            params.append(since)
        if until:
            where.append("at < ?")
            params.append(
                timestamp(datetime.fromisoformat(until).replace(tzinfo=UTC) + timedelta(days=1))
            )
        with self.connection() as con:
            rows = con.execute(
                f"select {', '.join(AUDIT_COLUMNS)} from audit where {' and '.join(where)}"
                " order by id desc limit ?",
                [*params, limit],
            ).fetchall()
        return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in rows]

    def audit_users_and_actions(self) -> tuple[list[str], list[str]]:
        with self.connection() as con:
            users = [
                str(r[0]) for r in con.execute("select distinct username from audit order by 1")
            ]
            actions = [
                str(r[0]) for r in con.execute("select distinct action from audit order by 1")
            ]
        return users, actions


# The audit hash chain. Each entry's ``hash`` is the SHA-256 of its previous entry's hash
# and its own fields (id included, so entries cannot be moved); ``prev_hash`` repeats the
# previous entry's hash. Triggers refuse an entry whose id is not the next one or whose
# ``prev_hash`` is not the last entry's hash, besides any update or delete, so neither
# ``insert or replace`` nor an insert in the middle gets in. Whoever can rewrite the file can
# still rebuild the whole chain, so the latest hash (``chi audit verify`` prints it) belongs
# in a log kept elsewhere: a rebuilt chain no longer contains it.

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
    last = con.execute("select id, hash from audit order by id desc limit 1").fetchone()
    entry_id, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    digest = _entry_hash(prev, entry_id, fields)
    con.execute(
        f"insert into audit (id, {', '.join(AUDIT_FIELDS)}, prev_hash, hash)"
        f" values (?, {', '.join('?' for _ in AUDIT_FIELDS)}, ?, ?)",
        [entry_id, *(fields.get(k) for k in AUDIT_FIELDS), prev, digest],
    )
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
    cur = con.execute(
        f"select id, {', '.join(AUDIT_FIELDS)}, prev_hash, hash from audit order by id"
    )
    for row in cur:
        entry_id = int(row[0])
        fields = dict(zip(AUDIT_FIELDS, row[1 : 1 + len(AUDIT_FIELDS)], strict=True))
        prev_hash, digest = row[-2], row[-1]
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
    con.execute("drop trigger if exists audit_no_update")
    con.execute("alter table audit add column prev_hash text")
    con.execute("alter table audit add column hash text")
    prev = GENESIS
    rows = con.execute(f"select id, {', '.join(AUDIT_FIELDS)} from audit order by id").fetchall()
    for row in rows:
        fields = dict(zip(AUDIT_FIELDS, row[1:], strict=True))
        digest = _entry_hash(prev, int(row[0]), fields)
        con.execute("update audit set prev_hash = ?, hash = ? where id = ?", (prev, digest, row[0]))
        prev = digest
    for statement in statements(_AUDIT_TRIGGERS):
        con.execute(statement)


_AUDIT_TRIGGERS = """
create trigger audit_no_update before update on audit
begin select raise(abort, 'the audit log is append-only'); end;
create trigger audit_chained before insert on audit
when new.id is null
  or new.id <> 1 + coalesce((select max(id) from audit), 0)
  or new.hash is null or length(new.hash) <> 64
  or new.prev_hash is not coalesce((select hash from audit where id = new.id - 1), '')
begin select raise(abort, 'an audit entry must be appended to the end of the chain'); end;
"""
