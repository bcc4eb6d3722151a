"""The victim list page: the month's ranked list for a neighbourhood, its changes and downloads."""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import (
    LIST_COLUMNS,
    download_row,
    list_filters,
    list_heading,
    scoped_page,
    table_height,
)
from chi.exports import listview
from chi.exports.downloads import DOWNLOAD_FORMATS, file_name, media_type, victim_download
from chi.forecast.model import ModelError
from chi.months import add_months, month_label, parse_month
from chi.reading.lists import Scope
from chi.scoring.runs import Run, RunError
from chi.state.auth import Role

TITLE = "Victim list"
ICON = ":material/format_list_numbered:"

# Keyed by chi.exports.listview's headers: the page shows the very table the downloads write. Widths
# in pixels, so the key columns (up to Harm, and the forecast when shown) fit at 1440 px.
COLUMNS: dict[str, Any] = {
    "Rank": st.column_config.NumberColumn(
        "Rank",
        help="Place on the neighbourhood's list (specialist-team people take none)",
        width=55,
    ),
    "Name": LIST_COLUMNS["Name"],
    "Person id": LIST_COLUMNS["Person id"],
    "New or continuing": LIST_COLUMNS["New or continuing"],
    "Reasons": LIST_COLUMNS["Reasons"],
    "Forecast": st.column_config.ProgressColumn(
        "Forecast",
        help="Probability of further victimisation in the model's horizon",
        min_value=0.0,
        max_value=1.0,
        format="%.2f",
        width=100,
    ),
    "Harm (days)": LIST_COLUMNS["Harm (days)"],
    "Specialist team": st.column_config.TextColumn(
        "Specialist team", help="The team whose offences list this person (policy)", width=230
    ),
    "Crimes": LIST_COLUMNS["Crimes"],
    "DA crimes": LIST_COLUMNS["DA crimes"],
    "Age": LIST_COLUMNS["Age"],
    "Latest crime": LIST_COLUMNS["Latest crime"],
    "Latest offence": st.column_config.TextColumn("Latest offence", width=250),
    "Neighbourhood": LIST_COLUMNS["Neighbourhood"],
    "Force rank": LIST_COLUMNS["Force rank"],
    "Forecast: why": st.column_config.TextColumn("Forecast: why", width=300),
}
# The columns that must be in view without scrolling (the browser test checks them).
KEY_COLUMNS = ("Rank", "Name", "New or continuing", "Reasons", "Forecast", "Harm (days)")


def render(ctx: PageContext) -> None:
    scoped_page(ctx, "victims", _page)


def _with_forecast(
    run: Run, month: str, scope: Scope, shown: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """The list with the saved model's score and its top reasons, or a note why not."""
    if not data.has_forecast_model(run):
        st.info("No forecast model for this run yet: an analyst trains one with `chi model train`.")
        return shown, []
    try:
        with st.spinner("Scoring the forecast"):
            scores = data.forecast(run, month, scope, shown["Person id"].to_list())
    except (ModelError, ValueError, RunError) as exc:
        st.warning(f"The forecast is not available: {md(exc)}")
        return shown, []
    scores = scores.select(
        pl.col("person_id").alias("Person id"),
        pl.col("score").alias("Forecast"),
        pl.col("top_reasons").list.join("; ").alias("Forecast: why"),
    )
    return shown.join(scores, on="Person id", how="left", maintain_order="left"), [
        "Forecast",
        "Forecast: why",
    ]


def _policy(run: Run) -> tuple[int | None, str]:
    pol = run.manifest.policy
    size = pol.get("list_size")
    return (None if size is None else int(size)), str(pol.get("specialist_rule", "none"))


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    restricted = ctx.config.restricted_groups if ctx.user.masks_restricted else ()
    frame = data.victims(run, month, scope, tuple(restricted))
    gone = data.exits(run, month, scope)
    list_heading(ctx, run, month, scope, "list_view", TITLE, frame.height)
    previous = month_label(add_months(parse_month(month), -1))
    size, rule = _policy(run)
    specialist = listview.specialist_count(frame)
    _summary(frame, gone, month, previous, specialist, rule)
    show_forecast = ctx.user.role is Role.ANALYST and st.toggle(
        "Show the forecast column (analysts only; a model trained on this force's history "
        "with `chi model train`; synthetic data gives synthetic results)",
        value=False,
        key="victims_forecast",
    )
    everyone, reasons, status = list_filters(
        "victims", listview.REASONS, size, frame.height - (specialist if rule == "exclude" else 0)
    )
    view = listview.ListView(everyone, reasons, status, rule)
    rows_shown = listview.select(frame, view)
    drop = listview.hidden_columns(len(scope.neighbourhoods) == 1, rows_shown, view)
    shown = listview.table(rows_shown, drop)
    if frame.is_empty():
        st.info("Nobody in this scope is on the list for this month.")
    elif rows_shown.is_empty():
        st.info("Nobody on this list matches the filters.")
    else:
        added: list[str] = []
        if show_forecast:
            shown, added = _with_forecast(run, month, scope, shown)
        _table(ctx, rows_shown, shown, added)
    _exits(gone, previous)
    _downloads(ctx, run, month, scope, rows_shown, drop, view, shown.height)


def _summary(
    frame: pl.DataFrame, gone: pl.DataFrame, month: str, previous: str, specialist: int, rule: str
) -> None:
    """The list's counts, and how the specialist teams' people are shown under the policy."""
    new = frame.filter(pl.col("status") == "new").height
    st.markdown(
        f"**{frame.height}** {'person' if frame.height == 1 else 'people'} listed for "
        f"**{month}** · **{new}** new · **{frame.height - new}** continuing · "
        f"**{gone.height}** exited since {previous}"
    )
    if specialist and rule == "flag":
        st.caption(
            f"{specialist} of them are listed for offences a specialist team owns (child "
            "protection, rape and serious sexual offences): flagged with the team under "
            "Everyone listed, and they take no place on the list to act on."
        )
    elif specialist and rule == "exclude":
        st.caption(
            f"{specialist} listed for offences a specialist team owns are left off this list "
            "(policy: exclude); the specialist teams have them."
        )


def _table(ctx: PageContext, rows: pl.DataFrame, shown: pl.DataFrame, added: list[str]) -> None:
    """The list as shown (with the forecast's ``added`` columns), a selected row opening
    that person's view."""
    columns = [c for c in shown.columns if c not in added]
    if added:  # the score beside the reasons, its explanation at the end
        columns.insert(columns.index("Reasons") + 1, "Forecast")
        columns.append("Forecast: why")
    event = st.dataframe(
        shown.select(columns),
        height=table_height(shown.height),
        column_config=COLUMNS,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="victim_table",
    )
    picked = event.selection.rows if event is not None else []
    if picked:
        chosen = rows.row(picked[0], named=True)
        who = md(chosen["name"] or chosen["person_id"])
        if st.button(f"Open the person view for {who}"):
            st.session_state["person_jump"] = chosen["person_id"]
            st.switch_page(ctx.pages["person"])
    else:
        st.caption("Select a row to open that person's view.")


def _exits(gone: pl.DataFrame, previous: str) -> None:
    if gone.is_empty():
        return
    with st.expander(f"Exited since {previous} ({gone.height})"):
        st.dataframe(
            gone.select(
                "name", "neighbourhood_name", "previous_rank", "harm_days", "crimes", "reason"
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "name": "Name",
                "neighbourhood_name": "Neighbourhood",
                "previous_rank": st.column_config.NumberColumn("Force rank last month"),
                "harm_days": st.column_config.NumberColumn("Harm now (days)", format="%.1f"),
                "crimes": "Crimes now",
                "reason": "Why",
            },
        )


def _downloads(
    ctx: PageContext,
    run: Run,
    month: str,
    scope: Scope,
    rows: pl.DataFrame,
    drop: tuple[str, ...],
    view: listview.ListView,
    shown_rows: int,
) -> None:
    st.subheader("Download")
    st.caption(
        f"Files are marked {ctx.config.marking}, carry the run's details and your name, "
        "and every download is recorded."
    )
    labels = {"csv": "CSV", "xlsx": "Excel (XLSX)", "pdf": "Printable briefing (PDF)"}
    st.caption(f"Downloads hold the list as shown: {view.describe()} ({shown_rows} rows).")
    gate = ctx.download_gate("victims")  # the file is built (and checked) when clicked
    download_row(
        [
            (
                labels[fmt],
                partial(
                    victim_download,
                    ctx.store,
                    ctx.user,
                    run,
                    month,
                    scope,
                    rows,
                    fmt,
                    ctx.config.marking,
                    drop=drop,
                    view=view.describe(),
                    gate=gate,
                ),
                file_name(run, month, scope, fmt),
                media_type(fmt),
                f"download_{fmt}",
            )
            for fmt in DOWNLOAD_FORMATS
        ],
        widths=[1, 1.4, 2, 3],
    )
