"""The victim list page: the month's ranked list for a neighbourhood, its changes and downloads."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.downloads import DOWNLOAD_FORMATS, file_name, media_type, victim_download
from chi.app.text import md
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
from chi.auth import Role
from chi.lists import Scope
from chi.model.forecast import ModelError
from chi.runs import Run, RunError
from chi.score import add_months, month_label, parse_month

COLUMNS: dict[str, Any] = {
    "neighbourhood_rank": st.column_config.NumberColumn("Rank", help="Rank in the neighbourhood"),
    "rank": st.column_config.NumberColumn("Force rank"),
    "neighbourhood_name": st.column_config.TextColumn("Neighbourhood"),
    "name": st.column_config.TextColumn("Name"),
    "person_id": st.column_config.TextColumn("Person id"),
    "age": st.column_config.NumberColumn("Age"),
    "harm_days": st.column_config.NumberColumn("Harm (days)", format="%.1f"),
    "crimes": st.column_config.NumberColumn("Crimes"),
    "da_crimes": st.column_config.NumberColumn("DA crimes"),
    "last_recorded_date": st.column_config.DateColumn("Latest crime", format="YYYY-MM-DD"),
    "latest_offence": st.column_config.TextColumn("Latest offence", width="medium"),
    "reasons": st.column_config.TextColumn("Reasons"),
    "status": st.column_config.TextColumn("New or continuing"),
    "forecast": st.column_config.ProgressColumn(
        "Forecast",
        help="Probability of further victimisation in the model's horizon",
        min_value=0.0,
        max_value=1.0,
        format="%.2f",
    ),
    "forecast_reasons": st.column_config.TextColumn("Forecast: why", width="medium"),
}


def render(ctx: PageContext) -> None:
    require(ctx, "victims")
    with guarded(ctx):
        run = current_run(ctx)
        month = pick_month(run)
        scope = pick_scope(ctx.user)
        _page(ctx, run, month, scope)


def _with_forecast(
    run: Run, month: str, scope: Scope, shown: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """The list with the saved model's score and its top reasons, or a note why not."""
    if not data.has_forecast_model(run):
        st.info("No forecast model for this run yet: an analyst trains one with `chi model train`.")
        return shown, []
    try:
        with st.spinner("Scoring the forecast"):
            scores = data.forecast(run, month, scope, shown["person_id"].to_list())
    except (ModelError, ValueError, RunError) as exc:
        st.warning(f"The forecast is not available: {md(exc)}")
        return shown, []
    scores = scores.select(
        "person_id",
        pl.col("score").alias("forecast"),
        pl.col("top_reasons").list.join("; ").alias("forecast_reasons"),
    )
    return shown.join(scores, on="person_id", how="left", maintain_order="left"), [
        "forecast",
        "forecast_reasons",
    ]


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    restricted = ctx.config.restricted_groups if ctx.user.masks_restricted else ()
    frame = data.victims(run, month, scope, tuple(restricted))
    gone = data.exits(run, month, scope)
    ctx.record_once("list_view", run_id=run.run_id, month=month, scope=scope.key, rows=frame.height)

    st.title(f"Victim list: {scope.label}")
    run_caption(run)
    previous = month_label(add_months(parse_month(month), -1))
    new = frame.filter(pl.col("status") == "new").height
    st.markdown(
        f"**{frame.height}** {'person' if frame.height == 1 else 'people'} listed for "
        f"**{month}** · **{new}** new · **{frame.height - new}** continuing · "
        f"**{gone.height}** exited since {previous}"
    )

    show_forecast = False
    if ctx.user.role is Role.ANALYST:
        show_forecast = st.toggle(
            "Show the forecast column (analysts only; a model trained on this force's history "
            "with `chi model train`; synthetic data gives synthetic results)",
            value=False,
            key="victims_forecast",
        )

    if frame.is_empty():
        st.info("Nobody in this scope is on the list for this month.")
    else:
        shown = reasons_text(frame)
        columns = [c for c in COLUMNS if not c.startswith("forecast")]
        if show_forecast:
            shown, added = _with_forecast(run, month, scope, shown)
            columns += added
        if len(scope.neighbourhoods) == 1:
            columns.remove("neighbourhood_name")
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
        rows = event.selection.rows if event is not None else []
        if rows:
            chosen = frame.row(rows[0], named=True)
            who = md(chosen["name"] or chosen["person_id"])
            if st.button(f"Open the person view for {who}"):
                st.session_state["person_jump"] = chosen["person_id"]
                st.switch_page(ctx.pages["person"])
        else:
            st.caption("Select a row to open that person's view.")

    if not gone.is_empty():
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

    st.subheader("Download")
    st.caption(
        f"Files are marked {ctx.config.marking}, carry the run's details and your name, "
        "and every download is recorded."
    )
    cols = st.columns([1, 1.4, 2, 3])
    labels = {"csv": "CSV", "xlsx": "Excel (XLSX)", "pdf": "Printable briefing (PDF)"}
    for col, fmt in zip(cols, DOWNLOAD_FORMATS, strict=False):
        with col:
            st.download_button(
                labels[fmt],
                data=_deferred(ctx, run, month, scope, frame, fmt),
                file_name=file_name(run, month, scope, fmt),
                mime=media_type(fmt),
                on_click="ignore",
                key=f"download_{fmt}",
            )


def _deferred(ctx: PageContext, run: Run, month: str, scope: Scope, frame: pl.DataFrame, fmt: str):  # type: ignore[no-untyped-def]
    gate = ctx.download_gate("victims")

    def build() -> bytes:
        return victim_download(
            ctx.store, ctx.user, run, month, scope, frame, fmt, ctx.config.marking, gate=gate
        )

    return build
