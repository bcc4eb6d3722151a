"""The DA profile page (analyst and area roles): the domestic abuse problem profile and the
board's safeguarding table for a period and an area, with the HTML and JSON downloads.

Analysts choose force-wide or an area; an area user sees their own area only (the user's
scope, as on every other page). The figures, charts and readings are those of
``chi.analysis`` (the same as ``chi profile``); the page only lays them out. Each download
is built when asked for and audited like the list downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import streamlit as st

from chi.analysis.board import BOARD_COLUMNS, display_rows
from chi.analysis.charts import CHARTS
from chi.analysis.profile import Profile, Request, build_profile
from chi.analysis.readings import month_name, period_words
from chi.analysis.report import method_notes, render_html, render_json
from chi.analysis.source import Source, load_run
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import current_run, guarded, require, run_caption
from chi.auth import AREAS, Role
from chi.lists import Scope, area_scope, scope_from_key
from chi.runs import Run, open_run
from chi.score import add_months, month_label, parse_month

PERIOD_LENGTHS = (12, 6, 3, 1)
TOP_PLACES = 15
CHART_BY_KEY = {spec.key: spec for spec in CHARTS}


@st.cache_resource(show_spinner=False, max_entries=2)
def _source(run_path: str, run_id: str) -> Source:
    return load_run(open_run(Path(run_path)))


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
    options = ["Force-wide", *AREAS]
    choice = st.sidebar.selectbox("Area", options, key="profile_area")
    return Scope.force() if choice == "Force-wide" else area_scope(str(choice))


def _period(run: Run) -> tuple[str, str]:
    """(period ``YYYY-MM:YYYY-MM``, board month) from the sidebar."""
    months = list(reversed(run.manifest.get("months") or []))
    end = str(st.sidebar.selectbox("Period ends with", months, key="profile_end"))
    length = int(
        st.sidebar.selectbox(
            "Months", PERIOD_LENGTHS, key="profile_months", format_func=lambda n: f"{n} months"
        )
    )
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


def _chart(profile: Profile, key: str) -> None:
    spec = CHART_BY_KEY[key]
    st.markdown(f"**{spec.title}**")
    st.altair_chart(spec.build(profile), theme=None)
    st.caption(profile.readings[spec.reading])


def _page(ctx: PageContext, run: Run, profile: Profile, scope: Scope, period: str) -> None:
    m, r = profile.meta, profile.readings
    first, last = period.split(":")
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
        st.subheader(f"Safeguarding the Vulnerable: {month_name(profile.board.month)}")
        st.write(r["board"])
        st.dataframe(
            pl.DataFrame(display_rows(profile.board), schema=list(BOARD_COLUMNS), orient="row"),
            hide_index=True,
            width="stretch",
        )
        for note in profile.board.notes:
            st.caption(note)
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
        st.write(r["overlap"])
    with tabs[5]:
        _chart(profile, "outcomes")
        st.markdown("**Likely duplicate recordings**")
        st.write(r["over_recording"])
    with tabs[6]:
        st.markdown(method_notes())
        for caveat in profile.caveats:
            st.caption(caveat)

    st.subheader("Download")
    st.caption(
        f"The report is marked {ctx.config.marking}; it holds aggregate figures only, and every "
        "download is recorded."
    )
    place = "force" if scope.force_wide else scope.label.split()[0].lower()
    stem = f"chi-da-profile-{period.replace(':', '-to-')}-{place}"
    left, right = st.columns(2)
    with left:
        st.download_button(
            "Report (HTML, prints well)",
            data=_deferred(ctx, run, profile, scope, "html"),
            file_name=f"{stem}.html",
            mime="text/html",
            on_click="ignore",
            key="profile_html",
        )
    with right:
        st.download_button(
            "Figures (JSON)",
            data=_deferred(ctx, run, profile, scope, "json"),
            file_name=f"{stem}.json",
            mime="application/json",
            on_click="ignore",
            key="profile_json",
        )
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
