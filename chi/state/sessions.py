"""Sign-in sessions: a random token held by the app session (or its cookie); the store keeps
only its SHA-256, with an absolute expiry and the time it was last used (for the idle limit).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chi.state.db import Database, parse_timestamp, q, timestamp, utc_now


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    expires_at: str


class Sessions(Database):
    """The sessions' part of the store."""

    def start_session(
        self, username: str, lifetime_hours: float, now: datetime | None = None
    ) -> Session:
        t = utc_now(now)
        token = secrets.token_urlsafe(32)
        expires = timestamp(t + timedelta(hours=lifetime_hours))
        with self.transaction() as con:
            q(
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
            row = q(con, "session", {"token_hash": _token_hash(token)}).fetchone()
            if row is None or row[3] is not None:
                return None
            username, last_seen, expires_at = str(row[0]), str(row[1]), str(row[2])
            if (
                parse_timestamp(expires_at) <= t
                or parse_timestamp(last_seen) + timedelta(minutes=idle_minutes) <= t
            ):
                q(con, "expire_session", {"at": timestamp(t), "token_hash": _token_hash(token)})
                return None
            q(con, "touch_session", {"at": timestamp(t), "token_hash": _token_hash(token)})
        return username

    def session_username(self, token: str) -> str | None:
        """Whose session a token is, valid or not (for the audit entry when it has ended)."""
        with self.connection() as con:
            row = q(con, "session_username", {"token_hash": _token_hash(token)}).fetchone()
        return None if row is None else str(row[0])

    def end_session(self, token: str, now: datetime | None = None) -> None:
        with self.transaction() as con:
            q(
                con,
                "end_session",
                {"at": timestamp(utc_now(now)), "token_hash": _token_hash(token)},
            )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
