"""The DA profile page (analyst and area roles): the domestic abuse problem profile and the
board's safeguarding table for a period and an area, with the HTML and JSON downloads.

Analysts choose force-wide or an area; an area user sees their own area only (the user's
scope, as on every other page). The figures, charts and readings are those of
``chi.analysis`` (the same as ``chi profile``); the page only lays them out. Each download
is built when asked for and audited like the list downloads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from chi.analysis.board import BOARD_COLUMNS, display_rows
from chi.analysis.charts import CHARTS
from chi.analysis.document import Profile
from chi.analysis.profile import Request, build_profile
from chi.analysis.readings import month_name, period_words
from chi.analysis.report import method_notes, render_html, render_json
from chi.analysis.source import Source, load_run
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import current_run, download_row, guarded, require, run_caption
from chi.months import add_months, month_label, parse_month
from chi.reading.lists import Scope, area_scope, scope_from_key
from chi.reference import policing_areas
from chi.scoring.runs import Run, extract_first_month, open_run
from chi.state.auth import Role

TITLE = "DA profile"
ICON = ":material/analytics:"

PERIOD_LENGTHS = (12, 6, 3, 1)
TOP_PLACES = 15
CHART_BY_KEY = {spec.key: spec for spec in CHARTS}


@st.cache_resource(show_spinner=False, max_entries=2)
def _source(run_path: str, run_id: str) -> Source:
    return load_run(open_run(Path(run_path)))


@st.cache_resource(show_spinner=False, max_entries=2)
def warm(run_path: str, run_id: str) -> threading.Thread:
    """Read the run's extract for the profile in the background, once per run and server,
    so that the profile's first open does not wait for it."""
    thread = threading.Thread(target=_source, args=(run_path, run_id), daemon=True)
    thread.start()
    return thread


@st.cache_data(show_spinner=False, max_entries=64)
def _profile(
    run_path: str, run_id: str, period: str, scope_key: str, scope_label: str, board: str
) -> Profile:
    scope = scope_from_key(scope_key)
    scope = Scope(scope.neighbourhoods, scope.force_wide, scope_label)
    request = Request.for_period(period, scope, board)
    return build_profile(_source(run_path, run_id), request)


def _scope(ctx: PageContext) -> Scope:
    """The user's own scope for an area user; force-wide or an area for an analyst."""
    user = ctx.user
    if user.role is not Role.ANALYST:
        return user.scope
    options = ["Force-wide", *policing_areas()]
    choice = st.sidebar.selectbox("Area", options, key="profile_area")
    return Scope.force() if choice == "Force-wide" else area_scope(str(choice))


def _period(run: Run) -> tuple[str, str]:
    """(period ``YYYY-MM:YYYY-MM``, board month) from the sidebar."""
    months = list(reversed(run.manifest.months))
    length = int(
        st.sidebar.selectbox(
            "Months", PERIOD_LENGTHS, key="profile_months", format_func=lambda n: f"{n} months"
        )
    )
    start = extract_first_month(run)
    whole = [
        m
        for m in months
        if start is None or month_label(add_months(parse_month(m), 1 - length)) >= start
    ]
    if not whole:  # the extract is shorter than the period: say so, offer what there is
        st.warning(
            f"The extract starts in {start}: no {length}-month period lies wholly inside it, "
            "so every period offered here is partial (it counts only the months since then)."
        )
        whole = months
    end = str(st.sidebar.selectbox("Period ends with", whole, key="profile_end"))
    first = month_label(add_months(parse_month(end), 1 - length))
    return f"{first}:{end}", end


def render(ctx: PageContext) -> None:
    require(ctx, "profile")
    with guarded(ctx):
        run = current_run(ctx)
        period, board = _period(run)
        scope = _scope(ctx)
        with st.spinner("Computing the profile..."):
            try:
                profile = _profile(str(run.path), run.run_id, period, scope.key, scope.label, board)
            except ValueError as exc:
                st.error(f"This profile cannot be computed: {md(exc)}")
                return
        ctx.record_once(
            "profile_view", run_id=run.run_id, month=board, scope=scope.key, detail=period
        )
        _page(ctx, run, profile, scope, period)


def _board_column(name: str, label: str, width: int) -> Any:
    return st.column_config.TextColumn(label, help=name, width=width)


# Short labels (the full name in each column's help) and pixel widths, so that every column
# up to the baseline is in view at 1440 px (the browser test checks it).
BOARD_CONFIG: dict[str, Any] = {
    "Offence group": _board_column("Offence group", "Offence group", 175),
    "This month": _board_column("This month", "This month", 78),
    "1 year ago": _board_column("1 year ago", "1 year ago", 75),
    "2 years ago": _board_column("2 years ago", "2 years ago", 80),
    "3 years ago": _board_column("3 years ago", "3 years ago", 80),
    "vs 1-year monthly average": _board_column("vs 1-year monthly average", "vs 1-year avg", 115),
    "vs 3-year monthly average": _board_column("vs 3-year monthly average", "vs 3-year avg", 120),
    "Rolling 12 months": _board_column("Rolling 12 months", "Rolling 12 m", 95),
    "Baseline (previous year-end)": _board_column("Baseline (previous year-end)", "Baseline", 95),
    "Prosecution-possible rate": _board_column("Prosecution-possible rate", "Prosecution rate", 95),
}
KEY_COLUMNS = ("Offence group", "This month", "Rolling 12 m", "Baseline")


def _chart(profile: Profile, key: str) -> None:
    spec = CHART_BY_KEY[key]
    st.markdown(f"**{spec.title}**")
    # the chart's own size (labels measured for it), never stretched or squeezed to the column
    st.altair_chart(spec.build(profile), theme=None, width="content")
    st.caption(profile.readings[spec.reading])


def _page(ctx: PageContext, run: Run, profile: Profile, scope: Scope, period: str) -> None:
    r = profile.readings
    first, last = period.split(":")
    if profile.notice:
        st.warning(profile.notice)
    st.title(f"Domestic abuse profile: {scope.label}, {period_words(first, last)}")
    run_caption(run)
    st.info(r["headline"])
    tabs = st.tabs(
        [
            "Board table",
            "Concentration",
            "Repeats",
            "Escalation",
            "Who and where",
            "Outcomes and recording",
            "Method",
        ]
    )
    with tabs[0]:
        _board(profile)
    with tabs[1]:
        st.write(
            " ".join(
                [r["power_curve_victims"], r["power_curve_dyads"], r["power_curve_perpetrators"]]
            )
        )
        _chart(profile, "power_curve")
        _chart(profile, "lorenz")
    with tabs[2]:
        st.write(" ".join([r["repeat_rate"], r["repeat_rate_victims"]]))
        _chart(profile, "survival")
        _chart(profile, "hazard")
        _chart(profile, "next_given_k")
        st.write(" ".join([r["dyads_no_repeat"], r["ipv_perpetrators"], r["serial"]]))
    with tabs[3]:
        _chart(profile, "escalation")
    with tabs[4]:
        _who_and_where(profile)
    with tabs[5]:
        _chart(profile, "outcomes")
        st.markdown("**Likely duplicate recordings**")
        st.write(r["over_recording"])
    with tabs[6]:
        st.markdown(method_notes())
        for caveat in profile.caveats:
            st.caption(caveat)
    _downloads(ctx, run, profile, scope, period)


def _board(profile: Profile) -> None:
    st.subheader(f"Safeguarding the Vulnerable: {month_name(profile.board.month)}")
    st.write(profile.readings["board"])
    st.dataframe(
        pl.DataFrame(display_rows(profile.board), schema=list(BOARD_COLUMNS), orient="row"),
        hide_index=True,
        width="stretch",
        column_config=BOARD_CONFIG,
    )
    for note in profile.board.notes:
        st.caption(note)


def _who_and_where(profile: Profile) -> None:
    _chart(profile, "trend")
    _chart(profile, "district")
    st.markdown(f"**Neighbourhoods with most DA harm (top {TOP_PLACES})**")
    st.dataframe(
        profile.places["neighbourhood"].head(TOP_PLACES),
        hide_index=True,
        column_config={
            "place": "Neighbourhood",
            "crimes": "DA crimes",
            "harm": st.column_config.NumberColumn("DA harm (days)", format="%.0f"),
            "crimes_share": st.column_config.NumberColumn("Share of crimes", format="percent"),
            "harm_share": st.column_config.NumberColumn("Share of harm", format="percent"),
        },
    )
    _chart(profile, "relationship")
    _chart(profile, "victim_age_sex")
    _chart(profile, "perpetrator_age_sex")
    _chart(profile, "dash")
    st.write(profile.readings["overlap"])


def _downloads(ctx: PageContext, run: Run, profile: Profile, scope: Scope, period: str) -> None:
    st.subheader("Download")
    st.caption(
        f"The report is marked {ctx.config.marking}; it holds aggregate figures only, and every "
        "download is recorded."
    )
    place = "force" if scope.force_wide else scope.label.split()[0].lower()
    stem = f"chi-da-profile-{period.replace(':', '-to-')}-{place}"
    download_row(
        [
            (
                "Report (HTML, prints well)",
                _deferred(ctx, run, profile, scope, "html"),
                f"{stem}.html",
                "text/html",
                "profile_html",
            ),
            (
                "Figures (JSON)",
                _deferred(ctx, run, profile, scope, "json"),
                f"{stem}.json",
                "application/json",
                "profile_json",
            ),
        ]
    )
    m = profile.meta
    st.caption(f"Board month {m['board_month']} · extract as of {m['as_of']}")


def _deferred(
    ctx: PageContext, run: Run, profile: Profile, scope: Scope, fmt: str
) -> Callable[[], bytes]:
    gate = ctx.download_gate("profile")

    def build() -> bytes:
        gate.check(ctx.user, scope, "download", run_id=run.run_id)
        text = render_html(profile, ctx.config.marking) if fmt == "html" else render_json(profile)
        ctx.store.record(
            ctx.user.username,
            "download",
            run_id=run.run_id,
            month=str(profile.meta["board_month"]),
            scope=scope.key,
            detail=f"da-profile-{fmt} {profile.meta['period']}",
        )
        return text.encode("utf-8")

    return build
