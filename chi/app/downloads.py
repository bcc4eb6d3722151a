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

from chi.auth import User
from chi.export import MEDIA_TYPES, ExportMeta, export_list, to_pdf
from chi.lists import Scope
from chi.runs import Run
from chi.store import Store

DOWNLOAD_FORMATS = ("csv", "xlsx", "pdf")

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
) -> bytes:
    """The victim list file in ``fmt``, with the audit entry written as it is made."""
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
