"""The impact page (analyst and area roles): cohort tracking and the impact review.

Analysts choose force-wide or an area; an area user sees their own area only (the lists and
victimisations are read with the user's scope in the SQL). The cohort comes from the
meeting decisions (everyone engaged, a decision type, or one meeting's cohort). The page
shows who was reviewed (and who was not, and why), the verdict or why it is withheld, the
smallest effect the review could detect, the naive before/after change beside the
difference-in-differences estimate with its interval and placebo, the balance table, the
cohort's harm and victimisations month by month around the start of the action next to the
matched comparison's, and the impact pack (PDF). It never fails on a cohort nobody in which
is reviewable yet, a cohort of one, or one that found no comparison. The figures are
``chi.meetings.impact``'s, the same as ``chi impact``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.ui import current_run, guarded, require, run_caption
from chi.exports.formats import ExportMeta
from chi.meetings.decisions import DECISION_TYPES, cohort, meeting_decisions
from chi.meetings.impact import (
    NEIGHBOURS,
    ImpactResult,
    cohort_tracking,
    comparison_months,
    review_pdf,
    run_review,
    scoped_inputs,
    signed_percent,
)
from chi.reading.lists import Scope, area_scope, scope_from_key
from chi.reference import policing_areas
from chi.scoring.runs import Run, open_run
from chi.state.auth import Role

TITLE = "Impact review"
ICON = ":material/query_stats:"

LENGTHS = (3, 6, 9, 12)
REPS = 1000
SPAN = 12


def _scope(ctx: PageContext) -> Scope:
    if ctx.user.role is not Role.ANALYST:
        return ctx.user.scope
    choice = st.sidebar.selectbox("Area", ["Force-wide", *policing_areas()], key="impact_area")
    return Scope.force() if choice == "Force-wide" else area_scope(str(choice))


def _cohort_label(spec: str) -> str:
    kind, _, arg = spec.partition(":")
    if kind == "engaged":
        return "Everyone given neighbourhood engagement"
    if kind == "decision":
        return f"Decision: {DECISION_TYPES[arg]}"
    return f"Everyone decided at the {arg} meeting"


@st.cache_data(show_spinner=False, max_entries=64)
def _review(
    run_path: str,
    run_id: str,
    scope_key: str,
    members: tuple[tuple[str, str, str], ...],
    before: int,
    after: int,
) -> tuple[ImpactResult, pl.DataFrame]:
    """The review and the tracking table (cohort and comparison) for one scope and cohort."""
    run = open_run(Path(run_path))
    scope = scope_from_key(scope_key)
    lists, victimisations = scoped_inputs(run, scope)
    # Every member goes to the review, listed in their index month or not: the review
    # counts and reports the ones who were not, rather than a join dropping them here. An
    # area's view leaves out only people never on that area's lists (another area's cohort).
    group = pl.DataFrame(
        members,
        schema={"person_id": pl.String, "index_month": pl.String, "start_month": pl.String},
        orient="row",
    )
    if not scope.force_wide:
        group = group.join(lists.select("person_id").unique(), on="person_id", how="semi")
    result = run_review(
        run, lists, victimisations, group, before_months=before, after_months=after, reps=REPS
    )
    comparison = result.matched.filter(pl.col("group") == "comparison").select(
        "person_id",
        (pl.col("month").str.to_date("%Y-%m").dt.offset_by("1mo").dt.strftime("%Y-%m")).alias(
            "start_month"
        ),
        "weight",
    )
    tracking = pl.concat(
        [
            cohort_tracking(victimisations, group, SPAN).with_columns(group=pl.lit("cohort")),
            cohort_tracking(victimisations, comparison, SPAN).with_columns(
                group=pl.lit("matched comparison")
            ),
        ]
    )
    return result, tracking


def render(ctx: PageContext) -> None:
    require(ctx, "impact")
    with guarded(ctx):
        run = current_run(ctx, drafts=False)
        scope = _scope(ctx)
        decided = meeting_decisions(ctx.store, "victim")
        months = sorted(decided["list_month"].unique().to_list(), reverse=True)
        specs = ["engaged", *(f"decision:{t}" for t in DECISION_TYPES)]
        specs += [f"meeting:{m}" for m in months]
        spec = str(
            st.sidebar.selectbox("Cohort", specs, format_func=_cohort_label, key="impact_cohort")
        )
        before = int(
            st.sidebar.selectbox(
                "Months before", LENGTHS, index=1, key="impact_before", format_func=str
            )
        )
        after = int(st.sidebar.selectbox("Months after", LENGTHS, index=1, key="impact_after"))
        members = cohort(ctx.store, spec)
        st.title(f"Impact review: {scope.label}")
        run_caption(run)
        if members.is_empty():
            st.info(
                "No decisions in this cohort yet. Record decisions on the Meeting page, or "
                "import a force's existing records with `chi decisions import`."
            )
            return
        with st.spinner("Matching and bootstrapping..."):
            result, tracking = _review(
                str(run.path),
                run.run_id,
                scope.key,
                tuple(members.iter_rows()),
                before,
                after,
            )
        ctx.record_once(
            "impact_view", run_id=run.run_id, scope=scope.key, rows=result.engaged, detail=spec
        )
        _page(result, tracking, spec)
        _download(ctx, run, scope, result, spec)


def _download(ctx: PageContext, run: Run, scope: Scope, result: ImpactResult, spec: str) -> None:
    """The impact pack (PDF): the counts, verdict or why it is withheld, the smallest
    detectable effect and the tables; built on click (after the session, account and scope
    are checked again), audited."""
    gate = ctx.download_gate("impact")

    def build() -> bytes:
        gate.check(ctx.user, scope, "impact_pack_download", run_id=run.run_id)
        meta = replace(
            ExportMeta.from_manifest(
                run.manifest,
                title=f"Impact review: {_cohort_label(spec)}",
                month=str(run.manifest.months[-1]),
                scope=scope.label,
                exported_by=ctx.user.username,
            ),
            marking=ctx.config.marking,
        )
        data = review_pdf(result, meta)
        ctx.store.record(
            ctx.user.username,
            "impact_pack_download",
            run_id=run.run_id,
            scope=scope.key,
            rows=result.engaged,
            detail=spec,
        )
        return data

    st.subheader("Impact pack")
    st.caption(
        f"The review as a printable PDF, marked {ctx.config.marking}; aggregate figures only. "
        "Every download is recorded."
    )
    st.download_button(
        "Impact review (PDF)",
        data=build,
        file_name=f"chi-impact-{spec.replace(':', '-')}.pdf",
        mime="application/pdf",
        on_click="ignore",
        key="impact_pack_pdf",
    )


def _tracking_chart(
    tracking: pl.DataFrame, measure: str, title: str, first: int, heading: str
) -> alt.LayerChart:
    """One measure by month from ``first`` to +SPAN, cohort against matched comparison."""
    part = tracking.filter(pl.col("relative_month") >= first)
    line = (
        alt.Chart(part)
        .mark_line(point=True)
        .encode(
            x=alt.X("relative_month:Q", title="Months from the start (0: first month of action)"),
            y=alt.Y(f"{measure}:Q", title=title),
            color=alt.Color(
                "group:N",
                title=None,
                legend=alt.Legend(orient="top"),
                scale=alt.Scale(range=["#1f5fa8", "#e45756"]),
            ),
            tooltip=["group", "relative_month", alt.Tooltip(measure, format=".2f"), "people"],
        )
        .properties(height=240)
    )
    start = alt.Chart(pl.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    layered: alt.LayerChart = alt.LayerChart(layer=[line, start], title=heading)
    return layered


def _page(result: ImpactResult, tracking: pl.DataFrame, spec: str) -> None:
    a, b, c, d, e = st.columns(5)
    a.metric("Cohort reviewed", f"{result.engaged:,}")
    b.metric("Matched comparison", f"{result.comparison:,}")
    c.metric(
        "Found a comparison",
        f"{result.matched_share:.0%}" if result.reviewable else "-",
        help="Share of the reviewable cohort with a comparable listed person not engaged",
    )
    d.metric(
        "Not yet reviewable",
        f"{result.not_yet_reviewable:,}",
        help="Their after-period has not ended",
    )
    e.metric(
        "Not on the list",
        f"{result.not_listed:,}",
        help="Not on the victim list in their index month (in this scope), so not reviewed",
    )
    st.text(result.counts_text())
    if result.withheld:
        st.warning("**No verdict.** " + " ".join(result.withheld))
    st.info(result.explanation())
    power = result.power_text()
    if power:
        st.info(power)
    if result.engaged == 0:
        return

    st.subheader("Before and after")
    table = result.table().with_columns(
        pl.col("measure").replace(
            {"harm": "Harm (days per person)", "victimisations": "Victimisations per person"}
        ),
        pl.col("group").replace({"engaged": "Cohort", "comparison": "Matched comparison"}),
        pl.col("change").map_elements(signed_percent, return_dtype=pl.String),
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "measure": "Measure",
            "group": "Group",
            "people": "People",
            "before": st.column_config.NumberColumn(
                f"Before ({result.before_months} months)", format="%.2f"
            ),
            "after": st.column_config.NumberColumn(
                f"After ({result.after_months} months)", format="%.2f"
            ),
            "change": "Change",
        },
    )
    estimates = pl.DataFrame(
        [
            {
                "measure": m.name.capitalize(),
                "naive": signed_percent(m.naive_change),
                "comparison": signed_percent(m.comparison_change),
                "estimate": signed_percent(m.relative_effect),
                "interval": f"{signed_percent(m.ci_low)} to {signed_percent(m.ci_high)}",
                "placebo": f"{signed_percent(p.relative_effect)} ({signed_percent(p.ci_low)} "
                f"to {signed_percent(p.ci_high)})",
                "mde": f"{mde:.0%}" if mde is not None else "-",
            }
            for m, p, mde in (
                (result.harm, result.placebo_harm, result.mde_harm),
                (result.victimisations, result.placebo_victimisations, result.mde_victimisations),
            )
        ]
    )
    st.dataframe(
        estimates,
        hide_index=True,
        column_config={
            "measure": "Measure",
            "naive": st.column_config.TextColumn(
                "Naive before/after", help="What a before/after review of the cohort would say"
            ),
            "comparison": "Comparison group's change",
            "estimate": st.column_config.TextColumn(
                "Effect (difference in differences)",
                help="The cohort's after-period against what it would have been had it changed "
                "as the comparison group did",
            ),
            "interval": "95% interval (bootstrap)",
            "placebo": st.column_config.TextColumn(
                "Placebo (before anyone was engaged)",
                help="The same comparison over the months before the before-period, when "
                "nothing had been done yet: it should be near zero with an interval that "
                "includes zero",
            ),
            "mde": st.column_config.TextColumn(
                "Smallest detectable change",
                help="The smallest change this review would be likely to show (80% power, 5% "
                "level)",
            ),
        },
    )
    st.subheader("Balance: were the groups alike before?")
    st.caption(
        "Standardised mean differences (the difference in means over the pooled standard "
        "deviation) between the cohort and the listed people who were not engaged, before "
        "matching and after. Above 0.1 after matching means the comparison is not like the "
        "cohort, and the verdict is withheld."
    )
    st.dataframe(
        result.balance_table(),
        hide_index=True,
        width="stretch",
        column_config={
            "feature": "Before the action",
            "engaged": st.column_config.NumberColumn("Cohort", format="%.3f"),
            "pool": st.column_config.NumberColumn("All not engaged", format="%.3f"),
            "comparison": st.column_config.NumberColumn("Matched comparison", format="%.3f"),
            "smd_before": st.column_config.NumberColumn("Difference before", format="%.3f"),
            "smd_after": st.column_config.NumberColumn("Difference after", format="%.3f"),
        },
    )

    st.subheader("Month by month around the start")
    for measure, title in (
        ("harm_per_person", "Harm per person (days)"),
        ("victimisations_per_person", "Victimisations per person"),
    ):
        whole, after = st.columns(2)
        with whole:
            chart = _tracking_chart(tracking, measure, title, -SPAN, "A year either side")
            st.altair_chart(chart, width="stretch")
        with after:
            chart = _tracking_chart(tracking, measure, title, 0, "From the start")
            st.altair_chart(chart, width="stretch")
    st.caption(
        "Left: a year either side; both groups peak in the month before the start (month -1, "
        "the list month) because people are listed at their worst, then fall back. Right: the "
        "months from the start only, where any difference made by the action shows. The "
        "comparison group's month 0 is the month after its list month, when a meeting would "
        f"have acted; each cohort member is compared with up to {NEIGHBOURS} listed people who "
        f"were not engaged, {comparison_months()}, from the same area, listing reasons, "
        "domestic abuse and new or continuing listing, with the most similar month-by-month "
        "harm and victimisations."
    )
    with st.expander("Tracking table"):
        st.dataframe(
            tracking.pivot(
                on="group",
                index="relative_month",
                values=["harm_per_person", "victimisations_per_person"],
            ),
            hide_index=True,
            width="stretch",
        )
    with st.expander(f"Matching strata ({len(result.strata)})"):
        st.caption(
            "Each stratum is a list month, area, new or continuing status, domestic abuse and "
            "listing reasons (high harm, repeat, child); its comparisons come from the same "
            f"area, status, domestic abuse and reasons, {comparison_months()}. "
            "Cohort members with nobody comparable are left out and counted as unmatched."
        )
        st.dataframe(pl.DataFrame(result.strata), hide_index=True, width="stretch")
    st.caption(f"Cohort: {_cohort_label(spec)}. Method: docs/meetings.md.")
