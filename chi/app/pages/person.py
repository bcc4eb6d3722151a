"""The person view: one listed person's victimisations, monthly harm and list history.

The person is chosen from the month's list within the user's scope (or arrives from the
victim list); the query refuses anyone else, so a person id typed into the URL or the
session shows nothing it should not.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import (
    current_run,
    guarded,
    money,
    pick_month,
    pick_scope,
    reasons_text,
    require,
    run_caption,
)
from chi.auth import Role
from chi.lists import PersonDetail, Scope
from chi.runs import Run


def render(ctx: PageContext) -> None:
    require(ctx, "person")
    with guarded(ctx):
        run = current_run(ctx)
        month = pick_month(run)
        scope = pick_scope(ctx.user)
        _page(ctx, run, month, scope)


def _choices(ctx: PageContext, run: Run, month: str, scope: Scope) -> dict[str, str]:
    """The picker's people: every name of the month's lists in the scope, so showing it is
    a list view (and, for the offender list, an offenders view), audited as one."""
    restricted = tuple(ctx.config.restricted_groups) if ctx.user.masks_restricted else ()
    out: dict[str, str] = {}
    victims = data.victims(run, month, scope, restricted)
    ctx.record_once(
        "list_view",
        run_id=run.run_id,
        month=month,
        scope=scope.key,
        rows=victims.height,
        detail="person picker",
    )
    for r in victims.iter_rows(named=True):
        out[r["person_id"]] = (
            f"{r['name'] or r['person_id']} · victim rank {r['neighbourhood_rank']} "
            f"in {r['neighbourhood_name']}"
        )
    if ctx.user.role in (Role.AREA, Role.ANALYST):
        offenders = data.offenders(run, month, scope)
        ctx.record_once(
            "offenders_view",
            run_id=run.run_id,
            month=month,
            scope=scope.key,
            rows=offenders.height,
            detail="person picker",
        )
        for r in offenders.iter_rows(named=True):
            out.setdefault(
                r["person_id"],
                f"{r['name'] or r['person_id']} · offender rank {r['neighbourhood_rank']} "
                f"in {r['neighbourhood_name']}",
            )
    return out


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    st.title("Person")
    run_caption(run)
    choices = _choices(ctx, run, month, scope)
    if not choices:
        st.info("Nobody in this scope is on a list for this month.")
        return
    options = list(choices)
    asked = st.session_state.pop("person_jump", None)
    if asked is None and "person_pick" not in st.session_state:
        asked = st.query_params.get("person")
    if asked is not None and asked not in options:
        st.warning("That person is not on a list you can see for this month.")
    if asked in options:
        st.session_state["person_pick"] = asked
    elif st.session_state.get("person_pick") not in options:
        st.session_state["person_pick"] = options[0]
    person_id: str = st.selectbox(
        "Person on this month's lists", options, format_func=choices.__getitem__, key="person_pick"
    )
    st.query_params["person"] = person_id

    restricted = tuple(ctx.config.restricted_groups) if ctx.user.masks_restricted else ()
    detail = data.person(
        run, person_id, month, scope, restricted, ctx.user.role in (Role.AREA, Role.ANALYST)
    )
    if detail is None:
        st.warning("This person is not on a list you can see for this month.")
        return
    ctx.record_once(
        "person_view", run_id=run.run_id, month=month, scope=scope.key, person_id=person_id
    )
    _show(detail, month)


def _show(d: PersonDetail, month: str) -> None:
    st.header(md(d.name or d.person_id))
    listed = " and ".join(f"{x} list" for x in d.listed_as)
    facts = [
        f"Person id {d.person_id}",
        f"age {d.age}" if d.age is not None else "age unknown",
        f"{d.neighbourhood_name} ({d.neighbourhood_code})",
        f"on the {listed} for {month}",
    ]
    st.markdown(" · ".join(md(f) for f in facts))
    counted = d.victimisations.filter(pl.col("counted"))
    harm = counted["chi_days"].drop_nulls().sum() if not counted.is_empty() else 0
    a, b, c, e = st.columns(4)
    a.metric("Harm in the window (days)", money(harm))
    b.metric("Victimisations", counted.height)
    c.metric("Domestic abuse", counted.filter(pl.col("domestic_abuse")).height)
    e.metric("Also recorded as a suspect", "yes" if d.also_suspect else "no")

    st.subheader("Harm month by month")
    monthly = d.monthly.with_columns(
        pl.col("harm_days").cast(pl.Float64), pl.col("window_harm_days").cast(pl.Float64)
    )
    bars = (
        alt.Chart(monthly)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("month:O", title="Month recorded"),
            y=alt.Y("harm_days:Q", title="Harm recorded in the month (days)"),
            tooltip=["month", "harm_days", "crimes"],
        )
    )
    line = (
        alt.Chart(monthly)
        .mark_line(point=True, color="#e45756")
        .encode(
            x="month:O",
            y=alt.Y("window_harm_days:Q", title="Harm in the window when listed (days)"),
            tooltip=["month", "window_harm_days"],
        )
    )
    st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent"), width="stretch")
    st.caption(
        "Bars: harm recorded in each month. Line: the window total in months the person was listed."
    )

    st.subheader("Victimisations in the window")
    if d.victimisations.is_empty():
        st.write("No victimisations recorded in the window.")
    else:
        st.dataframe(
            d.victimisations,
            hide_index=True,
            width="stretch",
            column_config={
                "recorded_date": st.column_config.DateColumn("Recorded", format="YYYY-MM-DD"),
                "offence": st.column_config.TextColumn("Offence", width="large"),
                "chi_days": st.column_config.NumberColumn("CHI days", format="%.1f"),
                "domestic_abuse": st.column_config.CheckboxColumn("DA"),
                "neighbourhood_name": "Neighbourhood",
                "counted": st.column_config.CheckboxColumn("Counted"),
            },
        )

    st.subheader("Months on the victim list")
    if d.listings.is_empty():
        st.write("Not on the victim list in any month up to this one.")
    else:
        st.dataframe(
            reasons_text(d.listings),
            hide_index=True,
            width="stretch",
            column_config={
                "month": "Month",
                "rank": "Force rank",
                "neighbourhood_rank": "Rank in neighbourhood",
                "harm_days": st.column_config.NumberColumn("Harm (days)", format="%.1f"),
                "crimes": "Crimes",
                "status": "Status",
                "reasons": "Reasons",
            },
        )
