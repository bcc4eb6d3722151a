"""The profile's charts, defined once in Altair for the app and the report alike.

The app draws these with ``st.altair_chart``; the report renders the same specifications to
SVG offline (``report``), so a board pack and the screen always agree. Each function takes
a ``Profile`` and returns a chart sized for an A4 page; ``CHARTS`` lists them in report
order with the reading that goes under each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from chi.analysis.document import Profile
from chi.analysis.repeats import survival_points

AnyChart = alt.Chart | alt.LayerChart
WIDTH = 560
HEIGHT = 240
PALETTE = ["#1b4f72", "#c0392b", "#7d8c2d", "#8e44ad", "#d68910", "#566573"]
POPULATION_LABELS = {
    "victims": "All victims",
    "da_victims": "DA victims",
    "dyads": "DA dyads",
    "perpetrators": "DA perpetrators",
    "ipv_perpetrators": "Intimate-partner perpetrators",
}


def _base(frame: pl.DataFrame | list[dict[str, Any]]) -> alt.Chart:
    data = frame.to_dicts() if isinstance(frame, pl.DataFrame) else frame
    return alt.Chart(alt.InlineData(values=data))


def _config(chart: Any) -> AnyChart:
    configured: AnyChart = (
        chart.configure(font="Helvetica, Arial, sans-serif")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, gridColor="#e5e8e8")
        .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom")
    )
    return configured


def _colour(title: str, domain: list[str]) -> alt.Color:
    return alt.Color("series:N", title=title, scale=alt.Scale(domain=domain, range=PALETTE))


def _share_curves(
    p: Profile, series: list[tuple[str, str]], lorenz: bool, x_title: str
) -> AnyChart:
    """Cumulative share against share of people, a line for each concentration ``series``
    (key, label): the power curves (most harmed first) or the Lorenz curves (least harmed
    first, with the line of equal shares dashed)."""
    rows: list[dict[str, Any]] = []
    for key, label in series:
        c = p.concentration[key]
        xs, ys = (c.lorenz_x, c.lorenz_y) if lorenz else (c.power_x, c.power_y)
        rows += [{"x": x, "y": y, "series": label} for x, y in zip(xs, ys, strict=True)]
    names = [s[1] for s in series]
    dash: dict[str, Any] = {}
    if lorenz:
        rows += [
            {"x": 0.0, "y": 0.0, "series": "Equal shares"},
            {"x": 1.0, "y": 1.0, "series": "Equal shares"},
        ]
        names.append("Equal shares")
        dash["strokeDash"] = alt.condition(
            alt.datum.series == "Equal shares", alt.value([4, 4]), alt.value([1, 0])
        )
    chart = (
        _base(rows)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=x_title, axis=alt.Axis(format="%")),
            y=alt.Y("y:Q", title="Cumulative share", axis=alt.Axis(format="%")),
            color=_colour("", names),
            **dash,
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    return _config(chart)


def power_curve(p: Profile) -> AnyChart:
    series = [
        ("da_victims_harm", "DA victims: harm"),
        ("da_victims_count", "DA victims: crimes"),
        ("dyads_harm", "DA dyads: harm"),
        ("perpetrators_harm", "DA perpetrators: harm"),
        ("victims_harm", "All victims: harm"),
    ]
    return _share_curves(p, series, lorenz=False, x_title="Share of people (most harmed first)")


def lorenz_curve(p: Profile) -> AnyChart:
    series = [("da_victims_harm", "DA victims: harm"), ("da_victims_count", "DA victims: crimes")]
    return _share_curves(p, series, lorenz=True, x_title="Share of people (least harmed first)")


def _by_population(
    names: list[str], points: Callable[[str], Iterable[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The chart rows of each population in turn (``points`` of its name), each labelled
    with its series, and the series in that order (the colour domain)."""
    domain = [POPULATION_LABELS[n] for n in names]
    rows = [{**point, "series": POPULATION_LABELS[n]} for n in names for point in points(n)]
    return rows, domain


def survival_chart(p: Profile) -> AnyChart:
    rows, domain = _by_population(
        ["da_victims", "dyads", "perpetrators"],
        lambda name: survival_points(p.repeats[name].survival, 365),
    )
    floor = min([1.0, *(r["lower"] for r in rows)])
    y_scale = alt.Scale(domain=[max(0.0, (int(floor * 10) - 1) / 10), 1.0])
    base = _base(rows).encode(
        x=alt.X(
            "days:Q",
            title="Days since their first DA crime in the period",
            scale=alt.Scale(domain=[0, 365]),
        ),
    )
    band = base.mark_area(opacity=0.12, interpolate="step-after").encode(
        y=alt.Y(
            "lower:Q",
            title="Share with no further DA crime",
            axis=alt.Axis(format="%"),
            scale=y_scale,
        ),
        y2="upper:Q",
        color=alt.Color("series:N", legend=None, scale=alt.Scale(domain=domain, range=PALETTE)),
    )
    line = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        y=alt.Y("survival:Q", axis=alt.Axis(format="%"), scale=y_scale),
        color=_colour("", domain),
    )
    return _config((band + line).properties(width=WIDTH, height=HEIGHT))


def hazard_chart(p: Profile) -> AnyChart:
    rows, domain = _by_population(
        ["victims", "da_victims"],
        lambda name: [
            {"band": f"{h.lo + 1}-{h.hi} days", "order": h.lo, "rate": h.per_1000_days}
            for h in p.repeats[name].hazard
            if h.per_1000_days is not None
        ],
    )
    chart = (
        _base(rows)
        .mark_bar()
        .encode(
            x=alt.X(
                "band:N",
                title="Days since the last crime",
                sort=alt.SortField("order"),
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("series:N", sort=domain),
            y=alt.Y("rate:Q", title="Next crimes per 1,000 days at risk"),
            color=_colour("", domain),
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    return _config(chart)


def next_given_k_chart(p: Profile) -> AnyChart:
    rows, domain = _by_population(
        ["da_victims", "dyads", "perpetrators"],
        lambda name: [
            {"k": s.k, "p": s.probability, "n": s.units_k}
            for s in p.repeats[name].next_given_k
            if s.units_k >= 10 and s.probability is not None
        ],
    )
    chart = (
        _base(rows)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("k:O", title="Crimes so far in the period (k)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("p:Q", title="Chance of one more", axis=alt.Axis(format="%")),
            color=_colour("", domain),
            tooltip=["series:N", "k:O", alt.Tooltip("p:Q", format=".1%"), "n:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    return _config(chart)


def escalation_chart(p: Profile) -> AnyChart:
    rows = [
        {
            "incident": s.incident,
            "mean": s.mean_harm,
            "lower": s.lower if s.lower is not None else s.mean_harm,
            "upper": s.upper if s.upper is not None else s.mean_harm,
            "dyads": s.dyads,
        }
        for s in p.escalation.steps
        if s.mean_harm is not None
    ]
    base = _base(rows).encode(
        x=alt.X("incident:O", title="Incident number within the dyad", axis=alt.Axis(labelAngle=0))
    )
    bars = base.mark_errorbar(ticks=True).encode(
        y=alt.Y("lower:Q", title="Mean CHI harm (days), 95% interval"), y2="upper:Q"
    )
    points = base.mark_point(filled=True, size=60, color=PALETTE[0]).encode(
        y="mean:Q", tooltip=["incident:O", alt.Tooltip("mean:Q", format=",.1f"), "dyads:Q"]
    )
    return _config((bars + points).properties(width=WIDTH, height=HEIGHT))


def trend_chart(p: Profile) -> AnyChart:
    start = str(p.meta["period_start"])[:7]
    rows = [{**r, "in_period": r["month"] >= start} for r in p.trend.to_dicts()]
    base = _base(rows).encode(x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-60)))
    bars = base.mark_bar().encode(
        y=alt.Y("crimes:Q", title="DA crimes recorded"),
        color=alt.condition(alt.datum.in_period, alt.value(PALETTE[0]), alt.value("#a9cce3")),
        tooltip=["month:O", "crimes:Q", alt.Tooltip("rolling_12:Q", format=",.1f")],
    )
    line = base.mark_line(color=PALETTE[1], strokeWidth=2).encode(y="rolling_12:Q")
    return _config((bars + line).properties(width=WIDTH, height=HEIGHT))


def _share_bars(
    frame: pl.DataFrame, category: str, title: str, measures: dict[str, str]
) -> AnyChart:
    rows = []
    order = frame[category].to_list()
    for r in frame.to_dicts():
        for column, label in measures.items():
            rows.append({"category": r[category], "share": r[column], "series": label})
    # The category labels are read whole (never cut short) and take the room they need; the
    # plot gets the rest of the page width, at least SHARE_PLOT_MIN. The heading above the
    # chart names the categories, so the axis has no rotated title to collide with them.
    label_px = min(LABEL_LIMIT, label_width(order))
    chart = (
        _base(rows)
        .mark_bar()
        .encode(
            y=alt.Y(
                "category:N",
                title=None,
                sort=order,
                axis=alt.Axis(labelLimit=LABEL_LIMIT, labelPadding=6),
            ),
            yOffset=alt.YOffset("series:N", sort=list(measures.values())),
            x=alt.X(
                "share:Q",
                title="Share",
                axis=alt.Axis(format="%", tickCount=5, labelOverlap=True, labelFlush=True),
            ),
            color=_colour("", list(measures.values())),
            tooltip=[
                alt.Tooltip("category:N", title=title),
                "series:N",
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(
            width=max(SHARE_PLOT_MIN, WIDTH - label_px),
            height=max(120, (22 if len(measures) == 1 else 34) * len(order)),
        )
    )
    return _config(chart)


LABEL_LIMIT = 420
"""The widest a category label may be (px, at the 11 px axis font) before it is cut."""
SHARE_PLOT_MIN = 300


def label_width(labels: list[Any]) -> int:
    """A generous estimate of the widest label's width in px at the 11 px axis font
    (Helvetica averages about 0.55 em a character; 6.5 px leaves a margin)."""
    return int(6.5 * max((len(str(x)) for x in labels), default=0)) + 8


def district_chart(p: Profile) -> AnyChart:
    return _share_bars(
        p.places["district"].with_columns(pl.col("place").replace("unknown", "Place not known")),
        "place",
        "District",
        {"crimes_share": "DA crimes", "harm_share": "DA harm"},
    )


def relationship_chart(p: Profile) -> AnyChart:
    return _share_bars(
        p.relationship,
        "relationship",
        "Relationship",
        {"crimes_share": "DA crimes", "harm_share": "DA harm"},
    )


def _age_sex(frame: pl.DataFrame, title: str) -> AnyChart:
    from chi.analysis.source import AGE_BANDS

    sexes = {"F": "Female", "M": "Male", "X": "Other (X)", "unknown": "Not recorded"}
    rows = [
        {
            "age_band": r["age_band"],
            "sex": sexes.get(str(r["sex"]), str(r["sex"])),
            "count": r["count"],
        }
        for r in frame.to_dicts()
    ]
    chart = (
        _base(rows)
        .mark_bar()
        .encode(
            y=alt.Y("age_band:N", title=title, sort=list(AGE_BANDS)),
            x=alt.X("count:Q", title="Count", stack="zero"),
            color=alt.Color(
                "sex:N",
                title="Sex",
                scale=alt.Scale(domain=list(sexes.values()), range=PALETTE[:4]),
            ),
            tooltip=["age_band:N", "sex:N", "count:Q"],
        )
        .properties(width=WIDTH - 120, height=200)
    )
    return _config(chart)


def victim_age_sex_chart(p: Profile) -> AnyChart:
    return _age_sex(p.victim_age_sex, "Victim's age")


def perpetrator_age_sex_chart(p: Profile) -> AnyChart:
    return _age_sex(p.perpetrator_age_sex, "Perpetrator's age")


def dash_chart(p: Profile) -> AnyChart:
    return _share_bars(p.dash, "grade", "DASH risk grade", {"count_share": "DA victimisations"})


def outcome_chart(p: Profile) -> AnyChart:
    frame = p.outcomes.filter(pl.col("count") > 0)
    return _share_bars(frame, "group", "Outcome", {"count_share": "DA crimes"})


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    build: Callable[[Profile], AnyChart]
    reading: str
    """Key of the profile reading shown under the chart."""


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("trend", "Monthly DA crimes with the 12-month average", trend_chart, "trend"),
    ChartSpec(
        "power_curve", "Power curve: how few hold most of the harm", power_curve, "power_curve"
    ),
    ChartSpec("lorenz", "Lorenz curve: harm against counts", lorenz_curve, "lorenz"),
    ChartSpec("survival", "Time to the next DA crime (Kaplan–Meier)", survival_chart, "survival"),
    ChartSpec("hazard", "Risk of a next crime by days since the last", hazard_chart, "hazard"),
    ChartSpec(
        "next_given_k", "Chance of one more crime after k", next_given_k_chart, "next_given_k"
    ),
    ChartSpec(
        "escalation", "Harm of successive incidents within dyads", escalation_chart, "escalation"
    ),
    ChartSpec("district", "DA crimes and harm by district", district_chart, "places"),
    ChartSpec(
        "relationship",
        "Relationship between victim and perpetrator",
        relationship_chart,
        "relationship",
    ),
    ChartSpec(
        "victim_age_sex", "DA victims by age and sex", victim_age_sex_chart, "victim_age_sex"
    ),
    ChartSpec(
        "perpetrator_age_sex",
        "DA perpetrators by age and sex",
        perpetrator_age_sex_chart,
        "perpetrator_age_sex",
    ),
    ChartSpec("dash", "DASH risk grades", dash_chart, "dash"),
    ChartSpec("outcomes", "Outcomes of DA crimes", outcome_chart, "outcomes"),
)
