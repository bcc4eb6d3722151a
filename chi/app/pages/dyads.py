"""The DA dyads page (area and analyst roles): offender-victim pairs sharing domestic abuse
crimes, by harm, within the user's scope (the victim's neighbourhood)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.ui import list_heading, reasons_table, scoped_page
from chi.exports import listview
from chi.reading.lists import Scope
from chi.scoring.runs import Run

TITLE = "DA dyads"
ICON = ":material/link:"

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
    scoped_page(ctx, "dyads", _page)


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    frame = data.dyads(run, month, scope)
    list_heading(ctx, run, month, scope, "dyads_view", "Domestic abuse dyads", frame.height)
    high = frame.filter(pl.col("latest_dash_risk") == "high").height
    st.markdown(
        f"**{frame.height}** offender-victim pairs with domestic abuse in the window to "
        f"**{month}** · **{high}** with a high DASH risk at the latest incident"
    )
    reasons_table(
        frame,
        "dyads",
        listview.DYAD_REASONS,
        COLUMNS,
        empty="No domestic abuse dyads in this scope for this month.",
        none="No pair on this list matches the filters.",
    )
