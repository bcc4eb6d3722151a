"""The backtest's charts in Altair, built from the saved ``backtest.json`` so the app (and
any export) draws exactly the figures the command line printed.

Capture curves put list size on a log axis: forces think in tens to thousands, and the
differences between policies live at the small sizes a team can actually work through.
The oracle is drawn dashed, as a ceiling rather than a rival.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from chi.forecast.backtest import POLICIES, SHORT_NAMES

WIDTH = 560
HEIGHT = 280
PALETTE = ["#1b4f72", "#7d8c2d", "#d68910", "#c0392b", "#8e44ad", "#566573"]
MEASURES = {"harm_pct": "harm caught (%)", "victimisations_pct": "victimisations caught (%)"}


def capture_chart(curves: list[dict[str, Any]], horizon: int, measure: str) -> alt.LayerChart:
    """Share caught against list size, one line per policy, for one horizon."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    rows = [
        {"k": r["k"], "share": r[measure], "policy": SHORT_NAMES.get(r["policy"], r["policy"])}
        for r in curves
        if r["horizon"] == horizon
    ]
    domain = [SHORT_NAMES[p] for p in POLICIES if any(r["policy"] == SHORT_NAMES[p] for r in rows)]
    base = alt.Chart(alt.InlineData(values=rows)).encode(
        x=alt.X("k:Q", title="list size k (log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("share:Q", title=MEASURES[measure]),
        color=alt.Color("policy:N", title="policy", scale=alt.Scale(domain=domain, range=PALETTE)),
        tooltip=["policy:N", "k:Q", alt.Tooltip("share:Q", format=".1f")],
    )
    real = base.transform_filter(alt.datum.policy != SHORT_NAMES["oracle"]).mark_line(point=True)
    ceiling = base.transform_filter(alt.datum.policy == SHORT_NAMES["oracle"]).mark_line(
        strokeDash=[6, 4]
    )
    return alt.LayerChart(layer=[real, ceiling], width=WIDTH, height=HEIGHT)


def calibration_chart(calibration: dict[str, list[float]]) -> alt.LayerChart:
    """Observed rate against mean predicted probability, with the diagonal."""
    rows = [
        {"predicted": p, "observed": o}
        for p, o in zip(calibration["predicted"], calibration["observed"], strict=True)
    ]
    top = max([1e-6, *(r["predicted"] for r in rows), *(r["observed"] for r in rows)])
    points = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_line(point=True, color=PALETTE[0])
        .encode(
            x=alt.X("predicted:Q", title="mean predicted probability"),
            y=alt.Y("observed:Q", title="observed rate"),
        )
    )
    diagonal = (
        alt.Chart(alt.InlineData(values=[{"v": 0.0}, {"v": top}]))
        .mark_line(color="#aab7b8", strokeDash=[4, 4])
        .encode(x="v:Q", y="v:Q")
    )
    return alt.LayerChart(layer=[diagonal, points], width=360, height=260)


def importance_chart(importance: list[dict[str, Any]], top: int = 12) -> alt.Chart:
    rows = importance[:top]
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("mean:Q", title="fall in average precision when shuffled"),
            y=alt.Y("label:N", sort=None, title=None),
            tooltip=["feature:N", alt.Tooltip("mean:Q", format=".4f")],
        )
        .properties(width=WIDTH, height=18 * max(1, len(rows)))
    )
    return chart
