"""The backtest page (analyst role): which list policy would have caught the most of the
following months' harm, how the forecast model performs, and whether any group is listed or
missed out of proportion, with the model card to download.

The page only shows what ``chi backtest RUN --model-dir RUN/model`` saved with the current
run (``chi.forecast.saved``); it never fits a model itself, so opening it is instant and what an
analyst sees is exactly what the command line printed. Results from a generated extract
carry the SYNTHETIC DATA banner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.ui import current_run, download_row, guarded, require, run_caption
from chi.forecast.backtest import POLICIES, SHORT_NAMES
from chi.forecast.card import model_rows, render_markdown
from chi.forecast.charts import MEASURES, calibration_chart, capture_chart, importance_chart
from chi.forecast.model import ModelError
from chi.forecast.saved import default_model_dir, read_saved
from chi.scoring.runs import Run

TITLE = "Backtest"
ICON = ":material/insights:"

PAGE = "backtest"


@st.cache_data(show_spinner=False, max_entries=8)
def _saved(folder: str, stamp: float) -> tuple[dict[str, Any], dict[str, Any]]:
    return read_saved(Path(folder))


def _stamp(folder: Path) -> float:
    path = folder / "backtest.json"
    return path.stat().st_mtime if path.is_file() else 0.0


def render(ctx: PageContext) -> None:
    require(ctx, PAGE)
    with guarded(ctx):
        run = current_run(ctx)
        folder = default_model_dir(run)
        try:
            backtest, card = _saved(str(folder), _stamp(folder))
        except ModelError:
            st.title("Backtest: which list catches next year's harm")
            run_caption(run)
            st.info(
                "There is no backtest for this run yet. From the command line, run "
                f"`chi backtest {run.path} --model-dir {folder}`; this page then shows "
                "its results."
            )
            return
        ctx.record_once("backtest_view", run_id=run.run_id)
        if backtest.get("notice"):
            st.warning(backtest["notice"])
        st.title("Backtest: which list catches next year's harm")
        run_caption(run)
        _page(ctx, run, backtest, card)


def _page(ctx: PageContext, run: Run, bt: dict[str, Any], card: dict[str, Any]) -> None:
    for line in bt["verdicts"]:
        st.markdown(f"- {line}")
    plan = bt["plan"]
    st.caption(
        f"Pool: {bt['pool']['definition']} (about {bt['pool']['people_per_month']:,} a "
        f"month). Forecast model: {plan['model']}. Run {bt.get('run_id') or run.run_id}."
    )
    tabs = st.tabs(["Capture", "Forecast model", "Fairness", "Model card"])
    with tabs[0]:
        _capture(bt)
    with tabs[1]:
        _model(bt)
    with tabs[2]:
        _fairness(bt)
    with tabs[3]:
        _card(ctx, run, card)


def _capture(bt: dict[str, Any]) -> None:
    horizons = sorted({int(r["horizon"]) for r in bt["results"]})
    left, right = st.columns(2)
    horizon = int(
        left.selectbox(
            "Horizon",
            horizons,
            index=len(horizons) - 1,
            key="bt_horizon",
            format_func=lambda h: f"next {h} months",
        )
    )
    measure = str(
        right.radio(
            "Measure",
            list(MEASURES),
            key="bt_measure",
            horizontal=True,
            format_func=lambda m: MEASURES[m],
        )
    )
    span = bt["plan"]["test_months"][str(horizon)]
    reach = bt["pool"]["reach"].get(str(horizon), {})
    st.caption(
        f"List months {span['first']} to {span['last']} ({span['months']}). Share of all "
        f"harm and victimisations of individuals in the {horizon} months after each list "
        f"month that fell on the top k. The whole pool received "
        f"{reach.get('harm_pct', 0):.1f}% of the harm: no list of the pool could catch more."
    )
    st.altair_chart(capture_chart(bt["curves"], horizon, measure), theme=None)
    rows = pl.DataFrame([r for r in bt["results"] if int(r["horizon"]) == horizon])
    if rows.is_empty():
        return
    table = rows.with_columns(
        pl.format(
            "{}% / {}%", pl.col("harm_pct").round(1), pl.col("victimisations_pct").round(1)
        ).alias("cell"),
        pl.col("policy").replace_strict(SHORT_NAMES, default=pl.col("policy")),
        pl.concat_str(pl.lit("k="), pl.col("k").cast(pl.String)).alias("size"),
    ).pivot(on="size", index="policy", values="cell")
    order = {SHORT_NAMES[p]: i for i, p in enumerate(POLICIES)}
    st.dataframe(
        table.sort(pl.col("policy").replace_strict(order, default=99)),
        hide_index=True,
        width="stretch",
    )
    st.caption("Each cell: harm caught / victimisations caught.")


def _model(bt: dict[str, Any]) -> None:
    report = bt.get("model")
    if not report:
        st.info(f"No forecast model: {bt['plan']['model']}.")
        return
    for label, rep in report["labels"].items():
        st.subheader(f"Label: {label}")
        if "error" in rep:
            st.text(f"Not fitted: {rep['error']}")
            continue
        if "chosen" in rep:
            st.text(f"Chosen out of time: {rep['chosen_name']}. {rep['reason']}.")
        st.dataframe(pl.DataFrame(model_rows(rep)), hide_index=True, width="stretch")
        if rep["leakage"]:
            st.error(
                "Leakage check failed: "
                + ", ".join(f"{f['feature']} alone has AUC {f['auc']}" for f in rep["leakage"])
            )
        calibration = rep["models"]["gbm"]["calibration"]
        if calibration["predicted"]:
            st.markdown("**Calibration of the gradient-boosted model**")
            st.altair_chart(calibration_chart(calibration), theme=None)
    if report.get("importance"):
        st.subheader("What the forecast relies on")
        st.altair_chart(importance_chart(report["importance"]), theme=None)


def _fairness(bt: dict[str, Any]) -> None:
    gaps = pl.DataFrame(bt["fairness"]["gaps"])
    groups = pl.DataFrame(bt["fairness"]["groups"])
    if gaps.is_empty():
        st.info("No fairness audit: no list month had a full horizon after it.")
        return
    opts = bt["options"]["fairness"]
    st.caption(
        f"Over the test months of the main horizon. Flagged: a gap above {opts['gap']:g} or "
        f"a listing-rate ratio above {opts['ratio']:g}; groups under {opts['min_group']} "
        "person-months and 'unknown' are not compared. Each gap has a reference: the gap of "
        "a list of exactly those harmed next (the oracle) for listing and false-negative "
        "rates; for precision, where the oracle is always right, the difference in the two "
        "groups' rates of being victimised again. 'Beyond reference': out of proportion to "
        "it. Each flag says what it means in one sentence."
    )
    left, right = st.columns(2)
    policies = [p for p in POLICIES if p in set(gaps["policy"].to_list())]
    policy = str(
        left.selectbox(
            "Policy", policies, key="bt_fair_policy", format_func=lambda p: SHORT_NAMES[p]
        )
    )
    k = int(right.selectbox("List size", sorted(set(gaps["k"].to_list())), key="bt_fair_k"))
    picked = gaps.filter((pl.col("policy") == policy) & (pl.col("k") == k))
    st.dataframe(
        picked.select(
            "attribute",
            "measure",
            "max_group",
            "max",
            "min_group",
            "min",
            "gap",
            "ratio",
            "reference_gap",
            "flagged",
            "beyond_reference",
        ),
        hide_index=True,
        width="stretch",
    )
    for sentence in picked.filter(pl.col("flagged"))["meaning"].drop_nulls().to_list():
        st.text(sentence)
    with st.expander("Every group"):
        st.dataframe(
            groups.filter((pl.col("policy") == policy) & (pl.col("k") == k)).drop("policy", "k"),
            hide_index=True,
            width="stretch",
        )


def _card(ctx: PageContext, run: Run, card: dict[str, Any]) -> None:
    text = render_markdown(card)
    download_row(
        [
            (
                "Model card (Markdown)",
                _deferred(ctx, run, text.encode("utf-8"), "md"),
                f"chi-model-card-{run.run_id}.md",
                "text/markdown",
                "bt_card_md",
            ),
            (
                "Model card (JSON)",
                _deferred(ctx, run, (json.dumps(card, indent=2) + "\n").encode(), "json"),
                f"chi-model-card-{run.run_id}.json",
                "application/json",
                "bt_card_json",
            ),
        ]
    )
    st.markdown(text)


def _deferred(ctx: PageContext, run: Run, body: bytes, fmt: str) -> Callable[[], bytes]:
    gate = ctx.download_gate("backtest")

    def build() -> bytes:
        gate.check(ctx.user, ctx.user.scope, "download", run_id=run.run_id)
        ctx.store.record(
            ctx.user.username, "download", run_id=run.run_id, detail=f"model-card-{fmt}"
        )
        return body

    return build
