"""The offender list page (area and analyst roles): high-harm offenders with serial-DA flags
and recency-frequency-gravity scores, within the user's scope."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.ui import LIST_COLUMNS, list_heading, reasons_table, scoped_page
from chi.exports import listview
from chi.reading.lists import Scope
from chi.scoring.runs import Run

TITLE = "Offenders"
ICON = ":material/person_alert:"

# Key columns first, so they are in view at 1440 px: who, why, how serious.
COLUMNS: dict[str, Any] = {
    "neighbourhood_rank": st.column_config.NumberColumn(
        "Rank", help="Rank in the neighbourhood", width=55
    ),
    "name": LIST_COLUMNS["Name"],
    "status": LIST_COLUMNS["New or continuing"],
    "reasons": LIST_COLUMNS["Reasons"],
    "rfg_score": st.column_config.ProgressColumn(
        "RFG score",
        help="Recency, frequency and gravity against this month's active offenders (0-100)",
        min_value=0,
        max_value=100,
        format="%.1f",
        width=110,
    ),
    "serial_da": st.column_config.CheckboxColumn("Serial DA", width=80),
    "harm_days": LIST_COLUMNS["Harm (days)"],
    "crimes": LIST_COLUMNS["Crimes"],
    "victims_count": st.column_config.NumberColumn("Victims", width=65),
    "da_crimes": LIST_COLUMNS["DA crimes"],
    "da_victims_36m": st.column_config.NumberColumn(
        "DA victims (36 m)",
        help="Distinct domestic-abuse victims in the last 36 months",
        width=120,
    ),
    "age": LIST_COLUMNS["Age"],
    "last_recorded_date": LIST_COLUMNS["Latest crime"],
    "neighbourhood_name": LIST_COLUMNS["Neighbourhood"],
    "person_id": LIST_COLUMNS["Person id"],
    "rank": LIST_COLUMNS["Force rank"],
}


KEY_COLUMNS = ("Rank", "Name", "New or continuing", "Reasons", "RFG score", "Harm (days)")


def render(ctx: PageContext) -> None:
    scoped_page(ctx, "offenders", _page)


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    frame = data.offenders(run, month, scope)
    list_heading(ctx, run, month, scope, "offenders_view", TITLE, frame.height)
    serial = frame.filter(pl.col("serial_da")).height
    new = frame.filter(pl.col("status") == "new").height
    st.markdown(
        f"**{frame.height}** offenders listed for **{month}** · **{new}** new · "
        f"**{serial}** serial domestic abuse (two or more DA victims in 36 months)"
    )
    reasons_table(
        frame,
        "offenders",
        listview.OFFENDER_REASONS,
        COLUMNS,
        empty="Nobody in this scope is on the offender list for this month.",
        none="Nobody on this list matches the filters.",
    )
