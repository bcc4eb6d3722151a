"""The app's state store: one object over one SQLite file, holding the local accounts
(:mod:`chi.state.accounts`), the sign-in sessions (:mod:`chi.state.sessions`) and the audit
log (:mod:`chi.state.audit`), on the database and migrations of :mod:`chi.state.db`. The
area meetings' decisions (:mod:`chi.meetings.decisions`) live in the same file.

The app and the commands hold a :class:`Store`; the names other modules import from here
(``StoreError``, ``append_audit``, ``timestamp``...) are those of the modules above.
"""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from chi.state.accounts import Account, Accounts, SignIn
from chi.state.audit import (
    AUDIT_COLUMNS,
    AUDIT_FIELDS,
    AuditCheck,
    AuditLog,
    _chain_audit,
    append_audit,
    verify_chain,
)
from chi.state.db import SQL_MIGRATIONS, Migration, StoreError, timestamp, utc_now
from chi.state.sessions import Session, Sessions

MIGRATIONS: list[Migration] = [
    *SQL_MIGRATIONS,
    # 4: the audit log's hash chain (see chi.state.audit._chain_audit)
    lambda con: _chain_audit(con),
]
SCHEMA_VERSION = len(MIGRATIONS)

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_FIELDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Account",
    "AuditCheck",
    "Session",
    "SignIn",
    "Store",
    "StoreError",
    "append_audit",
    "timestamp",
    "utc_now",
    "verify_chain",
]


class Store(Accounts, Sessions, AuditLog):
    """The state store at ``path``, created or brought up to date on opening."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        super().__init__(path, MIGRATIONS)
