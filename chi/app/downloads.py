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

from chi.auth import User, user_for_account
from chi.export import MEDIA_TYPES, ExportMeta, export_list, to_pdf
from chi.lists import Scope
from chi.runs import Run
from chi.store import Store

DOWNLOAD_FORMATS = ("csv", "xlsx", "pdf")


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


# The victim list as it is handed out: display order, readable column names.
VICTIM_EXPORT_COLUMNS = {
    "neighbourhood_name": "neighbourhood",
    "neighbourhood_rank": "rank",
    "rank": "force_rank",
    "person_id": "person_id",
    "name": "name",
    "age": "age",
    "harm_days": "harm_days",
    "crimes": "crimes",
    "da_crimes": "da_crimes",
    "last_recorded_date": "latest_crime",
    "latest_offence": "latest_offence",
    "reasons": "reasons",
    "status": "status",
}
_PDF_COLUMNS = [
    "neighbourhood",
    "rank",
    "name",
    "age",
    "harm_days",
    "crimes",
    "da_crimes",
    "latest_crime",
    "latest_offence",
    "reasons",
    "status",
]


def victim_export_frame(frame: pl.DataFrame) -> pl.DataFrame:
    present = {k: v for k, v in VICTIM_EXPORT_COLUMNS.items() if k in frame.columns}
    return frame.select(list(present)).rename(present)


def file_name(run: Run, month: str, scope: Scope, fmt: str) -> str:
    label = "force" if scope.force_wide else "-".join(sorted(scope.neighbourhoods)[:3])
    if not scope.force_wide and len(scope.neighbourhoods) > 3:
        label += f"-and-{len(scope.neighbourhoods) - 3}-more"
    return f"chi-victims-{month}-{label or 'none'}.{fmt}"


def media_type(fmt: str) -> str:
    return MEDIA_TYPES[fmt]


def victim_download(
    store: Store,
    user: User,
    run: Run,
    month: str,
    scope: Scope,
    frame: pl.DataFrame,
    fmt: str,
    marking: str,
    now: datetime | None = None,
    gate: DownloadGate | None = None,
) -> bytes:
    """The victim list file in ``fmt``, with the audit entry written as it is made; with
    ``gate`` (the app always gives one) the session, account and scope are checked first."""
    if fmt not in DOWNLOAD_FORMATS:
        raise ValueError(f"unknown download format {fmt!r}")
    if gate is not None:
        gate.check(user, scope, "download", run_id=run.run_id, month=month)
    meta = replace(
        ExportMeta.from_manifest(
            run.manifest,
            title="Victim list",
            month=month,
            scope=scope.label or scope.key,
            exported_by=user.username,
            exported_at=now or datetime.now(),
        ),
        marking=marking,
    )
    out = victim_export_frame(frame)
    if fmt == "pdf":
        data = to_pdf(
            out.select([c for c in _PDF_COLUMNS if c in out.columns]), meta, "neighbourhood"
        )
    else:
        data = export_list(out, meta, fmt, sheet_by="neighbourhood")
    store.record(
        user.username,
        "download",
        run_id=run.run_id,
        month=month,
        scope=scope.key,
        rows=out.height,
        detail=fmt,
    )
    return data
