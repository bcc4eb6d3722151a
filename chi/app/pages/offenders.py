"""The offender list page (area and analyst roles): high-harm offenders with serial-DA flags
and recency-frequency-gravity scores, within the user's scope."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.ui import (
    current_run,
    guarded,
    pick_month,
    pick_scope,
    reasons_text,
    require,
    run_caption,
    table_height,
)

COLUMNS: dict[str, Any] = {
    "neighbourhood_rank": st.column_config.NumberColumn("Rank", help="Rank in the neighbourhood"),
    "rank": st.column_config.NumberColumn("Force rank"),
    "neighbourhood_name": "Neighbourhood",
    "name": "Name",
    "person_id": "Person id",
    "age": "Age",
    "harm_days": st.column_config.NumberColumn("Harm (days)", format="%.1f"),
    "crimes": "Crimes",
    "victims_count": "Victims",
    "da_crimes": "DA crimes",
    "da_victims_36m": st.column_config.NumberColumn(
        "DA victims (36 months)", help="Distinct domestic-abuse victims in the last 36 months"
    ),
    "serial_da": st.column_config.CheckboxColumn("Serial DA"),
    "rfg_score": st.column_config.ProgressColumn(
        "RFG score",
        help="Recency, frequency and gravity against this month's active offenders (0-100)",
        min_value=0,
        max_value=100,
        format="%.1f",
    ),
    "last_recorded_date": st.column_config.DateColumn("Latest crime", format="YYYY-MM-DD"),
    "reasons": "Reasons",
    "status": "New or continuing",
}


def render(ctx: PageContext) -> None:
    require(ctx, "offenders")
    with guarded(ctx):
        run = current_run(ctx)
        month = pick_month(run)
        scope = pick_scope(ctx.user)
        frame = data.offenders(run, month, scope)
        ctx.record_once(
            "offenders_view", run_id=run.run_id, month=month, scope=scope.key, rows=frame.height
        )
        st.title(f"Offenders: {scope.label}")
        run_caption(run)
        serial = frame.filter(pl.col("serial_da")).height
        new = frame.filter(pl.col("status") == "new").height
        st.markdown(
            f"**{frame.height}** offenders listed for **{month}** · **{new}** new · "
            f"**{serial}** serial domestic abuse (two or more DA victims in 36 months)"
        )
        if frame.is_empty():
            st.info("Nobody in this scope is on the offender list for this month.")
            return
        only_serial = st.toggle("Serial domestic abuse only", key="serial_only")
        shown = frame.filter(pl.col("serial_da")) if only_serial else frame
        st.dataframe(
            reasons_text(shown).select(list(COLUMNS)),
            height=table_height(shown.height),
            column_config=COLUMNS,
            hide_index=True,
            width="stretch",
        )
