"""Downloads from the app: the one way list data leaves it, and every one is audited.

The app builds a file only when the user asks for it (a deferred download), and the same
call writes the audit entry with the row count, so the log shows every list that left the
app, in which format, by whom. The file carries the run's metadata, the handling marking
and who downloaded it. No Streamlit here: the app passes in what it has already read under
the user's scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from chi.exports import listview
from chi.exports.formats import FORMATS, ExportMeta, export_format
from chi.reading.lists import Scope
from chi.scoring.runs import Run
from chi.state.auth import User, user_for_account
from chi.state.store import Store

DOWNLOAD_FORMATS = tuple(FORMATS)
"""A list can be downloaded in every registered format."""


class DownloadRefused(Exception):
    """A download asked for by a session that is no longer allowed it (the reason names no
    personal data: it goes to the server log through Streamlit)."""


def within(outer: Scope, inner: Scope) -> bool:
    """Whether ``inner`` asks for nothing outside ``outer``."""
    if outer.force_wide:
        return True
    return not inner.force_wide and inner.neighbourhoods <= outer.neighbourhoods


@dataclass(frozen=True)
class DownloadGate:
    """What a download checks at the moment it runs, long after its button was drawn: the
    page's session is still signed in (not ended, expired or idle), the account still
    exists, and it still has the page and the scope asked for, all read from the state
    store rather than from what the page knew when it was drawn. A refusal is audited
    (``download_refused``) and raised; nothing is built."""

    store: Store
    token: str
    idle_minutes: float
    page: str
    local_accounts: bool = True

    def check(self, user: User, scope: Scope, action: str, **audit: object) -> User:
        reason = self._refusal(user, scope)
        if reason is None:
            return user
        self.store.record(
            user.username,
            "download_refused",
            scope=scope.key,
            detail=f"{action}: {reason}",
            **audit,  # type: ignore[arg-type]
        )
        raise DownloadRefused(f"download refused: {reason}")

    def _refusal(self, user: User, scope: Scope) -> str | None:
        username = self.store.touch_session(self.token, self.idle_minutes) if self.token else None
        if username is None:
            return "the session has ended"
        if username != user.username:
            return "the session belongs to someone else"
        now = user_for_account(self.store, username) if self.local_accounts else user
        if now is None:
            return "the account no longer exists"
        if not now.may_open(self.page):
            return "the role no longer has this page"
        if not within(now.scope, scope):
            return "the account no longer has this scope"
        return None


def file_name(run: Run, month: str, scope: Scope, fmt: str) -> str:
    label = "force" if scope.force_wide else "-".join(sorted(scope.neighbourhoods)[:3])
    if not scope.force_wide and len(scope.neighbourhoods) > 3:
        label += f"-and-{len(scope.neighbourhoods) - 3}-more"
    return f"chi-victims-{month}-{label or 'none'}.{fmt}"


def media_type(fmt: str) -> str:
    return export_format(fmt).media_type


def victim_download(
    store: Store,
    user: User | str,
    run: Run,
    month: str,
    scope: Scope,
    frame: pl.DataFrame,
    fmt: str,
    marking: str,
    now: datetime | None = None,
    drop: tuple[str, ...] = (),
    view: str = "",
    gate: DownloadGate | None = None,
    via: str = "",
    exported_by: str | None = None,
) -> bytes:
    """The victim list file in ``fmt`` of the rows ``frame`` the page shows (a selection of
    ``chi.reading.lists.victim_briefing``, columns ``drop`` left out as on the page), with the audit
    entry written as it is made (``view``: what the user chose to see); with ``gate`` (the
    app always gives one) the session, account and scope are checked first. ``chi export``
    gives its actor as text (``cli:<login>``, no session to check), ``via="cli"`` and the login
    name printed in the file as ``exported_by`` (default: the user's name)."""
    export_format(fmt, DOWNLOAD_FORMATS)
    by = user if isinstance(user, str) else user.username
    if gate is not None:
        if isinstance(user, str):
            raise ValueError("a download gate checks an account, not a command-line actor")
        gate.check(user, scope, "download", run_id=run.run_id, month=month)
    meta = replace(
        ExportMeta.from_manifest(
            run.manifest,
            title="Victim list",
            month=month,
            scope=scope.label or scope.key,
            exported_by=by if exported_by is None else exported_by,
            exported_at=now or datetime.now(),
        ),
        marking=marking,
    )
    data = listview.export(frame, meta, fmt, drop)
    detail = f"{via} {fmt}" if via else fmt
    store.record(
        by,
        "download",
        run_id=run.run_id,
        month=month,
        scope=scope.key,
        rows=frame.height,
        detail=f"{detail}; {view}" if view else detail,
    )
    return data
