"""The app's state store: one object over one SQLite file, holding the local accounts
(:mod:`chi.state.accounts`), the sign-in sessions (:mod:`chi.state.sessions`) and the
hash-chained audit log (:mod:`chi.state.audit`), on the connections, transactions and
migrations of :mod:`chi.state.db`. The area meetings' decisions (:mod:`chi.meetings.decisions`)
live in the same file.

The app and the commands hold a :class:`Store`. This module names only what a holder of one
needs: the store, its error, the values its methods return, and the schema (``MIGRATIONS``,
``SCHEMA_VERSION``). Code that works inside a transaction takes ``append_audit``,
``timestamp`` and ``utc_now`` from their homes (``chi.state.audit``, ``chi.state.db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from chi.state.accounts import Account, Accounts, SignIn
from chi.state.audit import AuditCheck, AuditLog, chain_audit
from chi.state.db import SQL_MIGRATIONS, Migration, StoreError
from chi.state.sessions import Session, Sessions

if TYPE_CHECKING:
    from chi.state.passwords import PasswordPolicy

MIGRATIONS: list[Migration] = [
    *SQL_MIGRATIONS,
    # 4: the audit log's hash chain (see chi.state.audit.chain_audit)
    chain_audit,
]
SCHEMA_VERSION = len(MIGRATIONS)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Account",
    "AuditCheck",
    "Session",
    "SignIn",
    "Store",
    "StoreError",
]


class Store(Accounts, Sessions, AuditLog):
    """The state store at ``path``, created or brought up to date on opening."""

    def __init__(
        self,
        path: Path,
        hasher: PasswordHasher | None = None,
        password_policy: PasswordPolicy | None = None,
    ) -> None:
        self.hasher = hasher or PasswordHasher()
        self.password_policy = password_policy
        """The policy every new password passes (None: the configured one, see ``policy``)."""
        super().__init__(path, MIGRATIONS)
