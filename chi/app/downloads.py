"""Downloads from the app: the one way list data leaves it, and every one is audited.

The app builds a file only when the user asks for it (a deferred download), and the same
call writes the audit entry with the row count, so the log shows every list that left the
app, in which format, by whom. The file carries the run's metadata, the handling marking
and who downloaded it. No Streamlit here: the app passes in what it has already read under
the user's scope.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import polars as pl

from chi import listview
from chi.auth import User
from chi.export import MEDIA_TYPES, ExportMeta
from chi.lists import Scope
from chi.runs import Run
from chi.store import Store

DOWNLOAD_FORMATS = ("csv", "xlsx", "pdf")


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
    drop: tuple[str, ...] = (),
    view: str = "",
) -> bytes:
    """The victim list file in ``fmt`` of the rows ``frame`` the page shows (a selection of
    ``chi.lists.victim_briefing``, columns ``drop`` left out as on the page), with the audit
    entry written as it is made (``view``: what the user chose to see)."""
    if fmt not in DOWNLOAD_FORMATS:
        raise ValueError(f"unknown download format {fmt!r}")
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
    data = listview.export(frame, meta, fmt, drop)
    store.record(
        user.username,
        "download",
        run_id=run.run_id,
        month=month,
        scope=scope.key,
        rows=frame.height,
        detail=f"{fmt}; {view}" if view else fmt,
    )
    return data
