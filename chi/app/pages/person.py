"""The person view: one listed person's victimisations, monthly harm and list history.

The person is chosen from the month's list within the user's scope (or arrives from the
victim list); the query refuses anyone else, so a person id typed into the URL or the
session shows nothing it should not.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import (
    LIST_COLUMNS,
    money,
    reasons_text,
    run_caption,
    scoped_page,
)
from chi.reading.lists import PersonDetail, Scope
from chi.scoring.runs import Run
from chi.state.auth import Role

TITLE = "Person"
ICON = ":material/person:"


def render(ctx: PageContext) -> None:
    scoped_page(ctx, "person", _page)


# Key columns first, with pixel widths, so they are in view at 1440 px (as on the lists).
VICTIMISATION_COLUMNS: dict[str, Any] = {
    "recorded_date": st.column_config.DateColumn("Recorded", format="YYYY-MM-DD", width=95),
    "offence": st.column_config.TextColumn("Offence", width=380),
    "chi_days": st.column_config.NumberColumn("CHI days", format="%.2f", width=80),
    "domestic_abuse": st.column_config.CheckboxColumn("DA", width=45),
    "counted": st.column_config.CheckboxColumn(
        "Counted", help="Counted towards harm and crimes under the policy", width=75
    ),
    "neighbourhood_name": st.column_config.TextColumn("Neighbourhood", width=160),
}
LISTING_COLUMNS: dict[str, Any] = {
    "month": st.column_config.TextColumn("Month", width=75),
    "neighbourhood_rank": st.column_config.NumberColumn("Rank in neighbourhood", width=150),
    "status": LIST_COLUMNS["New or continuing"],
    "reasons": LIST_COLUMNS["Reasons"],
    "harm_days": LIST_COLUMNS["Harm (days)"],
    "crimes": LIST_COLUMNS["Crimes"],
    "rank": LIST_COLUMNS["Force rank"],
}
KEY_COLUMNS = ("Month", "Rank in neighbourhood", "New or continuing", "Reasons", "Harm (days)")
VICTIMISATION_KEY_COLUMNS = ("Recorded", "Offence", "CHI days", "DA", "Counted")


def _people(
    ctx: PageContext, run: Run, month: str, scope: Scope
) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Each listed person's picker label and, for someone on the offender list only, their
    offender-list row. Showing the picker is a view of each list it draws on, audited as one."""
    restricted = tuple(ctx.config.restricted_groups) if ctx.user.masks_restricted else ()
    victims = data.victims(run, month, scope, restricted)
    _picker_view(ctx, "list_view", run, month, scope, victims.height)
    out: dict[str, tuple[str, dict[str, Any] | None]] = {
        r["person_id"]: (_label(r, "victim"), None) for r in victims.iter_rows(named=True)
    }
    if ctx.user.role in (Role.AREA, Role.ANALYST):
        offenders = data.offenders(run, month, scope)
        _picker_view(ctx, "offenders_view", run, month, scope, offenders.height)
        for r in offenders.iter_rows(named=True):
            out.setdefault(r["person_id"], (_label(r, "offender"), r))
    return out


def _label(row: dict[str, Any], kind: str) -> str:
    return (
        f"{row['name'] or row['person_id']} · {kind} rank {row['neighbourhood_rank']} "
        f"in {row['neighbourhood_name']}"
    )


def _picker_view(
    ctx: PageContext, event: str, run: Run, month: str, scope: Scope, rows: int
) -> None:
    ctx.record_once(
        event, run_id=run.run_id, month=month, scope=scope.key, rows=rows, detail="person picker"
    )


def _page(ctx: PageContext, run: Run, month: str, scope: Scope) -> None:
    st.title(TITLE)
    run_caption(run)
    people = _people(ctx, run, month, scope)
    choices = {pid: label for pid, (label, _) in people.items()}
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
    _show(detail, month, people[person_id][1])


def facts(d: PersonDetail, month: str) -> list[str]:
    """The line under the name: only what is known and applies (no "age unknown")."""
    listed = " and ".join(f"{x} list" for x in d.listed_as)
    out = [f"Person id {d.person_id}"]
    if d.age is not None:
        out.append(f"age {d.age}")
    out += [f"{d.neighbourhood_name} ({d.neighbourhood_code})", f"on the {listed} for {month}"]
    return out


def _show(d: PersonDetail, month: str, offender: dict[str, Any] | None = None) -> None:
    st.header(md(d.name or d.person_id))
    st.markdown(" · ".join(md(f) for f in facts(d, month)))
    victim = "victim" in d.listed_as
    _metrics(d, victim, offender)
    if not victim and d.victimisations.is_empty():
        return
    _harm_chart(d)
    _victimisations(d)
    if victim:
        _listings(d)


def _metrics(d: PersonDetail, victim: bool, offender: dict[str, Any] | None) -> None:
    """Four figures: the victim's harm and victimisations, or (on the offender list only)
    what that list says of them."""
    if victim:
        counted = d.victimisations.filter(pl.col("counted"))
        harm = counted["chi_days"].drop_nulls().sum() if not counted.is_empty() else 0
        a, b, c, e = st.columns(4)
        a.metric("Harm in the window (days)", money(harm))
        b.metric("Victimisations", counted.height)
        c.metric("Domestic abuse", counted.filter(pl.col("domestic_abuse")).height)
        e.metric("Also recorded as a suspect", "yes" if d.also_suspect else "no")
    elif offender is not None:  # on the offender list only: what that list says of them
        a, b, c, e = st.columns(4)
        a.metric("Offender rank in the neighbourhood", offender["neighbourhood_rank"])
        b.metric("Harm caused in the window (days)", money(offender["harm_days"]))
        c.metric("Crimes as a suspect", offender["crimes"])
        rfg = offender.get("rfg_score")
        e.metric("RFG score", "not scored" if rfg is None else f"{float(rfg):.1f}")


def _harm_chart(d: PersonDetail) -> None:
    st.subheader("Harm month by month")
    monthly = d.monthly.with_columns(
        pl.col("harm_days").cast(pl.Float64), pl.col("window_harm_days").cast(pl.Float64)
    )
    bars = (
        alt.Chart(monthly)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("month:O", title="Month recorded", axis=alt.Axis(labelAngle=-45)),
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


def _section(title: str, frame: pl.DataFrame, empty: str, columns: dict[str, Any]) -> None:
    """A subheading and the table of ``frame``'s ``columns`` as configured, or ``empty``."""
    st.subheader(title)
    if frame.is_empty():
        st.write(empty)
    else:
        st.dataframe(
            frame.select(list(columns)),
            hide_index=True,
            width="content",  # the configured widths, as drawn (key columns in view)
            column_config=columns,
        )


def _victimisations(d: PersonDetail) -> None:
    _section(
        "Victimisations in the window",
        d.victimisations,
        "No victimisations recorded in the window.",
        VICTIMISATION_COLUMNS,
    )


def _listings(d: PersonDetail) -> None:
    _section(
        "Months on the victim list",
        reasons_text(d.listings) if not d.listings.is_empty() else d.listings,
        "Not on the victim list in any month up to this one.",
        LISTING_COLUMNS,
    )
