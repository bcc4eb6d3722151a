"""The DA dyads page (area and analyst roles): offender-victim pairs sharing domestic abuse
crimes, by harm, within the user's scope (the victim's neighbourhood)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.ui import (
    current_run,
    guarded,
    list_filters,
    partial_notice,
    pick_month,
    pick_scope,
    reasons_text,
    require,
    run_caption,
    table_height,
)
from chi.exports import listview

COLUMNS: dict[str, Any] = {
    "neighbourhood_rank": st.column_config.NumberColumn("Rank", help="Rank in the neighbourhood"),
    "rank": st.column_config.NumberColumn("Force rank"),
    "neighbourhood_name": "Neighbourhood",
    "offender_name": "Offender",
    "victim_name": "Victim",
    "relationship": "Relationship",
    "harm_days": st.column_config.NumberColumn("Harm (days)", format="%.2f"),
    "crimes": "DA crimes",
    "first_recorded_date": st.column_config.DateColumn("First incident", format="YYYY-MM-DD"),
    "last_recorded_date": st.column_config.DateColumn("Latest incident", format="YYYY-MM-DD"),
    "latest_dash_risk": "Latest DASH risk",
    "reasons": "Reasons",
    "status": "New or continuing",
}


def render(ctx: PageContext) -> None:
    require(ctx, "dyads")
    with guarded(ctx):
        run = current_run(ctx)
        month = pick_month(run)
        scope = pick_scope(ctx.user)
        frame = data.dyads(run, month, scope)
        ctx.record_once(
            "dyads_view", run_id=run.run_id, month=month, scope=scope.key, rows=frame.height
        )
        st.title(f"Domestic abuse dyads: {scope.label}")
        run_caption(run)
        partial_notice(run, month)
        high = frame.filter(pl.col("latest_dash_risk") == "high").height
        st.markdown(
            f"**{frame.height}** offender-victim pairs with domestic abuse in the window to "
            f"**{month}** · **{high}** with a high DASH risk at the latest incident"
        )
        if frame.is_empty():
            st.info("No domestic abuse dyads in this scope for this month.")
            return
        _, reasons, status = list_filters("dyads", listview.DYAD_REASONS)
        shown = listview.filtered(frame, reasons, status)
        if shown.is_empty():
            st.info("No pair on this list matches the filters.")
            return
        st.dataframe(
            reasons_text(shown, words=listview.DYAD_REASONS).select(list(COLUMNS)),
            height=table_height(shown.height),
            column_config=COLUMNS,
            hide_index=True,
            width="stretch",
        )
