"""The audit log: append-only, hash-chained, and the only record of who saw what.

Triggers abort any UPDATE or DELETE on it. It records who, when, what, and only the list
coordinates needed to answer "who saw what": run id, month, scope, row count and, for a
person view, the person's id. Never names or dates of birth. Code that writes an entry
together with something else (a meeting decision) calls :func:`append_audit` inside the
store's transaction; the head of the chain is anchored outside the store by
:mod:`chi.state.anchor`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chi.state.db import Database, StoreError, q, timestamp, utc_now

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

    def audit_hashes(self, ids: list[int]) -> dict[int, str]:
        """The stored hash of each of the entries ``ids`` (those that exist)."""
        out: dict[int, str] = {}
        with self.connection() as con:
            for entry_id in ids:
                row = q(con, "audit_hash", {"id": entry_id}).fetchone()
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
            cur = q(con, "audit_log", params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [{k: dict(zip(names, r, strict=True))[k] for k in AUDIT_COLUMNS} for r in rows]

    def audit_users_and_actions(self) -> tuple[list[str], list[str]]:
        with self.connection() as con:
            users = [str(r[0]) for r in q(con, "audit_users")]
            actions = [str(r[0]) for r in q(con, "audit_actions")]
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
    last = q(con, "audit_last").fetchone()
    entry_id, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    digest = _entry_hash(prev, entry_id, fields)
    entry = {k: fields.get(k) for k in AUDIT_FIELDS}
    q(con, "audit_append", {"id": entry_id, **entry, "prev_hash": prev, "hash": digest})
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
    cur = q(con, "audit_entries")
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


def chain_audit(con: sqlite3.Connection) -> None:
    """Migration 4: add ``prev_hash`` and ``hash`` to the audit log, chain the entries
    already there in id order, and install the triggers that keep the chain whole."""
    q(con, "migrations/4_drop_audit_no_update")
    q(con, "migrations/4_audit_prev_hash")
    q(con, "migrations/4_audit_hash")
    prev = GENESIS
    cur = q(con, "migrations/4_audit_unchained")
    names = [d[0] for d in cur.description]
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        fields = {k: row[k] for k in AUDIT_FIELDS}
        digest = _entry_hash(prev, int(row["id"]), fields)
        q(
            con,
            "migrations/4_audit_chain_entry",
            {"prev_hash": prev, "hash": digest, "id": row["id"]},
        )
        prev = digest
    q(con, "migrations/4_audit_no_update")
    q(con, "migrations/4_audit_chained")
