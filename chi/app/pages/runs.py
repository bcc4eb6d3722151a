"""The runs page (analyst): published runs and their manifests, a new run with a chosen policy
and weight set scored in the background, and the diff between two runs."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.jobs import JOBS, Job, JobBusyError
from chi.app.text import md
from chi.app.ui import guarded, require, table_height
from chi.reference import weight_sets
from chi.scoring.policy import Policy
from chi.scoring.runs import (
    Run,
    RunError,
    current_run_id,
    latest_run_id,
    list_runs,
    make_current,
    victims_listed_last_month,
)

TITLE = "Runs"
ICON = ":material/autorenew:"


def render(ctx: PageContext) -> None:
    require(ctx, "runs")
    st.title(TITLE)
    with guarded(ctx):
        try:
            runs = list_runs(ctx.config.runs_dir)
        except RunError:
            runs = []
        latest = latest_run_id(ctx.config.runs_dir) if runs else None
        current_id = (current_run_id(ctx.config.runs_dir) or latest) if runs else None
        current = next((r for r in runs if r.run_id == current_id), runs[-1] if runs else None)
        notice = st.session_state.pop("chi_runs_notice", None)
        if notice:
            st.success(notice)
        published, make, new, compare = st.tabs(
            ["Runs", "Make a run current", "Start a new run", "Compare two runs"]
        )
        with published:
            _runs_table(runs, current_id)
        with make:
            _make_current(ctx, runs, current_id)
        with new:
            _new_run(ctx, current)
        with compare:
            _diff(ctx, runs, current_id)


def _runs_table(runs: list[Run], current_id: str | None) -> None:
    if not runs:
        st.info("No runs have been published yet.")
        return
    st.caption(
        "The current run is the one every user reads (lists, downloads, meetings, backtests). "
        "Other runs are drafts or earlier runs, seen by analysts only."
    )
    rows = []
    for r in reversed(runs):
        m, pol = r.manifest, r.manifest.policy
        rows.append(
            {
                "run": r.run_id,
                "current": r.run_id == current_id,
                "state": "current" if r.run_id == current_id else "draft",
                "created": m.created_at,
                "weights": m.weights.name,
                "window": pol["window_months"],
                "min harm": pol["min_harm"],
                "min crimes": pol["min_crimes"],
                "months": f"{m.months[0]} to {m.months[-1]}" if m.months else "",
                "victims listed (last month)": victims_listed_last_month(r),
                "rejected rows": sum(c["rejected"] for c in m.counts.values()),
            }
        )
    st.dataframe(
        pl.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={"current": st.column_config.CheckboxColumn("Current")},
    )
    chosen = st.selectbox("Manifest of run", [r.run_id for r in reversed(runs)], key="manifest_run")
    with st.expander(f"Manifest of {chosen}"):
        st.json(next(r.manifest.to_dict() for r in runs if r.run_id == chosen))


def _settings(run: Run) -> str:
    """A run's weights and thresholds, as the run pickers label it."""
    pol = run.manifest.policy
    return (
        f"{run.manifest.weights.name}, harm ≥ {pol['min_harm']}, "
        f"crimes ≥ {pol['min_crimes']}, window {pol['window_months']}"
    )


def _make_current(ctx: PageContext, runs: list[Run], current_id: str | None) -> None:
    """Choose a draft (or an earlier run), read its diff against the current run, then make
    it current for everyone; audited."""
    others = [r for r in reversed(runs) if r.run_id != current_id]
    if not others:
        st.info("There is no other run to make current: score a draft run first.")
        return
    by_id = {r.run_id: r for r in runs}
    latest = latest_run_id(ctx.config.runs_dir)

    def label(run_id: str) -> str:
        kind = "newest draft" if run_id == latest else "draft or earlier run"
        return f"{run_id} ({kind}): {_settings(by_id[run_id])}"

    chosen = str(
        st.selectbox(
            "Run to make current", [r.run_id for r in others], format_func=label, key="pub_run"
        )
    )
    run, current = by_id[chosen], by_id.get(current_id or "")
    if current is None:
        st.info("No run is current yet.")
    else:
        shared = sorted(set(current.manifest.months) & set(run.manifest.months))
        if not shared:
            st.warning(
                f"Run {chosen} shares no month with the current run {current.run_id}: there "
                "is no diff to read."
            )
        else:
            month = str(st.selectbox("Month of the diff", list(reversed(shared)), key="pub_month"))
            frame = data.diff(current, run, month)
            ctx.record_once(
                "diff_view", run_id=f"{current.run_id}..{chosen}", month=month, rows=frame.height
            )
            st.caption(f"Against the current run {current.run_id}, for {month}:")
            _diff_table(frame)
    agreed = st.checkbox(
        f"I have read the diff; every user should read run {chosen} from now on",
        key="pub_agree",
    )
    if st.button("Make this run current", type="primary", disabled=not agreed, key="pub_button"):
        try:
            previous = make_current(ctx.config.runs_dir, chosen, ctx.user.username)
        except RunError as exc:
            st.error(str(exc))
            return
        ctx.record("run_made_current", run_id=chosen, detail=f"previous {previous or 'none'}")
        st.session_state["chi_runs_notice"] = (
            f"Run {chosen} is now current (it was {previous or 'none'}): every user reads it."
        )
        st.session_state.pop("pub_agree", None)
        st.rerun()


def _extract(ctx: PageContext, current: Run | None) -> Path | None:
    if ctx.config.extract_dir is not None:
        return ctx.config.extract_dir
    if current is not None:
        return Path(current.manifest.extract.path)
    return None


def _new_run(ctx: PageContext, current: Run | None) -> None:
    job = JOBS.current(ctx.config.runs_dir)
    if job is not None and job.running:
        _progress(ctx)
        return
    if job is not None:
        _finished(ctx, job)
    extract = _extract(ctx, current)
    if extract is None:
        st.info("No extract is configured (app.extract_dir) and there is no run to take one from.")
        return
    base = Policy.from_manifest(current.manifest.policy) if current else Policy()
    months = current.manifest.months if current else []
    sets = weight_sets()
    st.caption(
        f"Extract: {extract}. The new run is a draft, seen by analysts only, until you make it "
        "current (tab: Make a run current)."
    )
    with st.form("new_run"):
        a, b, c, d = st.columns(4)
        weights = a.selectbox(
            "Weight set",
            list(sets),
            index=list(sets).index(base.weights) if base.weights in sets else 0,
            format_func=lambda n: f"{n}: {sets[n].title}",
        )
        window = b.number_input("Window (months)", 1, 120, base.window_months, key="window")
        min_harm = c.number_input(
            "Harm threshold (days)", 0.0, 100000.0, float(base.min_harm), step=5.0, key="min_harm"
        )
        min_crimes = d.number_input(
            "Crime-count threshold", 1, 1000, base.min_crimes, key="min_crimes"
        )
        span = st.text_input(
            "Months (YYYY-MM:YYYY-MM, empty for every complete month)",
            f"{months[0]}:{months[-1]}" if months else "",
            key="months",
        )
        submitted = st.form_submit_button("Score a draft run", type="primary")
    if not submitted:
        return
    try:
        policy = replace(
            base,
            weights=str(weights),
            window_months=int(window),
            min_harm=_days(float(min_harm)),
            min_crimes=int(min_crimes),
        )
        JOBS.start(
            ctx.store, ctx.user.username, ctx.config.runs_dir, extract, policy, span.strip() or None
        )
    except (ValueError, JobBusyError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def _days(value: float) -> Decimal:
    """A threshold as typed (50, not 50.0 or 5E+1), for the manifest and the diff."""
    d = Decimal(str(value))
    return d.to_integral_value() if d == d.to_integral_value() else d.normalize()


@st.fragment(run_every=1.0)
def _progress(ctx: PageContext) -> None:
    job = JOBS.current(ctx.config.runs_dir)
    if job is None:
        return
    if job.running:
        with st.status(f"Scoring: {job.step}", expanded=True):
            st.progress(job.fraction, text=f"{job.step} ({job.fraction:.0%})")
            st.caption(f"Started by {md(job.username)} at {job.started_at} UTC.")
        return
    st.rerun(scope="app")


def _finished(ctx: PageContext, job: Job) -> None:
    if job.state == "done":
        st.success(
            f"Run {job.run_id} (started by {md(job.username)}) is scored as a draft: read its "
            "diff and make it current under Make a run current."
        )
    else:
        st.error(
            f"The last run started from the app failed ({md(job.error)}). The details are not "
            "shown here, as they may quote the extract: run `chi validate` or `chi score` on "
            "the server to see them."
        )


def _diff(ctx: PageContext, runs: list[Run], latest: str | None) -> None:
    """Any two runs side by side (``latest`` here: the current run, marked in the labels)."""
    if len(runs) < 2:
        st.info("Publish a second run to compare it with the first.")
        return
    ids = [r.run_id for r in reversed(runs)]
    by_id = {r.run_id: r for r in runs}

    def label(run_id: str) -> str:
        mark = " (current)" if run_id == latest else ""
        return f"{run_id}{mark}: {_settings(by_id[run_id])}"

    a_col, b_col = st.columns(2)
    a_id = a_col.selectbox("Run A (reference)", ids, index=1, format_func=label, key="diff_a")
    b_id = b_col.selectbox("Run B", ids, index=0, format_func=label, key="diff_b")
    shared = sorted(
        set(by_id[a_id].manifest.months) & set(by_id[b_id].manifest.months), reverse=True
    )
    if a_id == b_id or not shared:
        st.info("Choose two different runs that share at least one month.")
        return
    month = st.selectbox("Month", shared, key="diff_month")
    frame = data.diff(by_id[a_id], by_id[b_id], month)
    ctx.record_once("diff_view", run_id=f"{a_id}..{b_id}", month=month, rows=frame.height)
    _diff_table(frame)


def _diff_table(frame: pl.DataFrame) -> None:
    if frame.is_empty():
        st.success("The same people are listed in both runs for this month.")
        return
    counts = frame.group_by("list", "change").len().sort("list", "change")
    st.text(
        " · ".join(
            f"{r['len']} {r['change']} the {r['list']} list" for r in counts.iter_rows(named=True)
        )
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=table_height(frame.height),
        column_config={
            "list": "List",
            "month": "Month",
            "person_id": "Person id",
            "change": "Change",
            "rank_a": "Rank in A",
            "rank_b": "Rank in B",
            "harm_a": st.column_config.NumberColumn("Harm A (days)", format="%.1f"),
            "harm_b": st.column_config.NumberColumn("Harm B (days)", format="%.1f"),
            "crimes_a": "Crimes A",
            "crimes_b": "Crimes B",
            "why": st.column_config.TextColumn("Why", width="large"),
        },
    )
