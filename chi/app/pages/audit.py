"""The audit log page (admin): every sign-in, list view, person view, download and rerun,
filterable by user, action and date. Reading the log is itself recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.ui import require, table_height
from chi.state.audit import AUDIT_COLUMNS
from chi.state.auth import scope_label

TITLE = "Audit log"
ICON = ":material/history:"

EVERYONE = "(everyone)"


def render(ctx: PageContext) -> None:
    require(ctx, "audit")
    st.title(TITLE)
    users, actions = ctx.store.audit_users_and_actions()
    a, b, c = st.columns([1, 2, 1])
    who = a.selectbox("User", [EVERYONE, *users], key="audit_user")
    what = b.multiselect("Actions", actions, key="audit_actions", placeholder="every action")
    today = datetime.now(UTC).date()
    span = c.date_input("Dates (UTC)", (today - timedelta(days=30), today), key="audit_dates")
    dates = [d for d in (span if isinstance(span, tuple) else (span,)) if d is not None]
    since = min(dates) if dates else None
    until = max(dates) if dates else None
    rows = ctx.store.audit_log(
        username=None if who == EVERYONE else who,
        actions=list(what) or None,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    ctx.record_once(
        "audit_view", detail=f"user={who}; actions={','.join(what) or 'all'}; {since}..{until}"
    )
    frame = pl.DataFrame(
        rows, schema=dict.fromkeys(AUDIT_COLUMNS, pl.String) | {"id": pl.Int64, "rows": pl.Int64}
    )
    st.caption(f"{frame.height:,} entries, newest first. The log cannot be changed or deleted.")
    if frame.is_empty():
        st.info("No entries match.")
        return
    frame = frame.with_columns(
        pl.col("scope").map_elements(scope_label, return_dtype=pl.String),
        pl.col("rows").cast(pl.String),
    ).fill_null("")
    st.dataframe(
        frame.drop("id"),
        height=table_height(frame.height),
        hide_index=True,
        width="stretch",
        column_config={
            "at": "Time (UTC)",
            "username": "User",
            "action": "Action",
            "run_id": "Run",
            "month": "Month",
            "scope": "Scope",
            "rows": "Rows",
            "person_id": "Person id",
            "detail": "Detail",
        },
    )
