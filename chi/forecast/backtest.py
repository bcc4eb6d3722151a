"""The backtest: had the force listed k people in each past month under a policy, what share
of the following months' harm would have fallen on them?

For each list month M the pool (``chi.forecast.features``) is ranked under each policy, the top
``k`` are "listed" (force-wide, or the top ``k`` of each neighbourhood), and the harm (sum
of weights) and victimisations of *all* individuals in the horizon after M are compared with
what fell on the listed. Shares are pooled over the evaluated months (captured summed over
months / total summed over months). Policies:

- ``chi_harm``: the month's victim list in its own order (harm in the policy window, then
  count, latest victimisation, person_id: today's practice), then the rest of the pool in
  the same order, for list sizes beyond the list;
- ``count``: victimisations in the window first, then harm;
- ``rfg``: recency-frequency-gravity as the offender list scores it (``docs/scoring.md``),
  applied to the victim pool: percent ranks of days since the latest victimisation,
  victimisations and harm in the window, weighted by the policy's RFG weights;
- ``forecast`` / ``forecast_harm``: the gradient-boosted model's probability of any further
  victimisation / of harm at or above the threshold within the main horizon;
- ``oracle``: the actual future, ranked by the very quantity measured (future harm for the
  harm share, future victimisations for the victimisation share): no policy can beat it.

Ties always break on person_id, so every figure is reproducible.

Months. List months start once a full policy window of history exists (or
``min_history_months``) and are evaluated for horizon h only when M + h months ends on or
before the extract's as-of date. With a model, one time split serves every horizon: the
models train on list months whose main-horizon outcome ended on or before the end of the
first test month, so no training label reaches into the test period; every policy is then
scored on the same test months (from the split to the last month each horizon allows).
Without a model, or when the history is too short for an honest split, every evaluable month
is a test month and the forecast policies are left out (and the output says why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from chi.forecast.fairness import (
    FairnessOptions,
    audit,
    empty_counts,
    group_counts,
    pool_counts,
)
from chi.forecast.features import (
    ATTRIBUTES,
    FEATURE_NAMES,
    ID_COLUMNS,
    feature_table,
    lookback_months,
    outcomes,
    with_outcomes,
)
from chi.forecast.history import History
from chi.forecast.model import (
    FittedModel,
    ModelError,
    importance,
    leakage_check,
    matrix,
    metrics,
    train_model,
)
from chi.forecast.selection import chi_harm_score, choose_model, validation_auc
from chi.forecast.timecut import index_month, month_index
from chi.months import add_months, month_end, month_label
from chi.progress import Progress, silent

POLICIES: dict[str, str] = {
    "chi_harm": "CHI harm (today's list order)",
    "count": "victimisation count",
    "rfg": "recency-frequency-gravity",
    "forecast": "forecast: risk of further victimisation",
    "forecast_harm": "forecast: risk of harm at or above the threshold",
    "oracle": "oracle: the actual future (upper bound)",
}
SHORT_NAMES = {
    "chi_harm": "CHI-harm ranking",
    "count": "count ranking",
    "rfg": "recency-frequency-gravity",
    "forecast": "the victimisation forecast",
    "forecast_harm": "the harm forecast",
    "oracle": "the oracle",
}
BASELINE = "chi_harm"
FORECASTS = {"forecast": "victimisation", "forecast_harm": "harm"}
TRAIN_MONTHS = 12
"""A model learns from at most the 12 most recent list months it may see."""
MIN_TRAIN_MONTHS = 3
"""Fewer training months leave none to choose a model on out of time."""
CURVE_KS = (10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000)
CURVE_KS_NEIGHBOURHOOD = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50)
SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA: these figures come from a generated extract, not from any force's "
    "records. They show what the harness measures, not how well any policy works."
)


@dataclass(frozen=True)
class Options:
    ks: tuple[int, ...] = (50, 100, 200, 500)
    horizons: tuple[int, ...] = (3, 6, 12)
    per_neighbourhood: bool = False
    min_history_months: int | None = None
    model: bool = True
    harm_threshold_days: float | None = None
    """Threshold of the ``harm`` label; None = the policy's harm threshold (min_harm)."""
    fairness: FairnessOptions = field(default_factory=FairnessOptions)
    max_train_rows: int = 60_000
    seed: int = 0
    features: tuple[str, ...] = FEATURE_NAMES
    """Model inputs (a force may leave some out, e.g. sex); extra columns must be in the
    feature table."""
    refit: bool = False
    """Also refit the models on every labelled month, for saving and for current lists."""

    def __post_init__(self) -> None:
        if not self.ks or min(self.ks) < 1:
            raise ValueError("list sizes (--k) must be whole numbers of at least 1")
        if not self.horizons or min(self.horizons) < 1 or max(self.horizons) > 36:
            raise ValueError("horizons must be between 1 and 36 months")
        if self.min_history_months is not None and self.min_history_months < 1:
            raise ValueError("min_history_months must be at least 1")
        if self.max_train_rows < 1000:
            raise ValueError("max_train_rows must be at least 1000")

    @property
    def main_horizon(self) -> int:
        return max(self.horizons)


@dataclass(frozen=True)
class Plan:
    first_list_month: date
    last_month: date
    main_horizon: int
    train_months: tuple[date, ...]
    test_months: dict[int, tuple[date, ...]]
    validation_months: tuple[date, ...]
    """The last training months: the candidates are fitted on the earlier ones and the
    model is chosen on these, then refitted on every training month."""
    refit_months: tuple[date, ...]
    model_note: str

    @property
    def split(self) -> date | None:
        return min(self.test_months[self.main_horizon]) if self.train_months else None

    @property
    def all_months(self) -> list[date]:
        months = set(self.train_months)
        for ms in self.test_months.values():
            months |= set(ms)
        return sorted(months)

    def as_dict(self) -> dict[str, Any]:
        def span(ms: tuple[date, ...]) -> dict[str, Any]:
            return {
                "first": month_label(ms[0]) if ms else None,
                "last": month_label(ms[-1]) if ms else None,
                "months": len(ms),
            }

        return {
            "first_list_month": month_label(self.first_list_month),
            "last_complete_month": month_label(self.last_month),
            "main_horizon": self.main_horizon,
            "train_months": span(self.train_months),
            "validation_months": span(self.validation_months),
            "test_months": {str(h): span(ms) for h, ms in sorted(self.test_months.items())},
            "refit_months": span(self.refit_months),
            "model": self.model_note,
        }


def _range(a: date, b: date) -> tuple[date, ...]:
    out = []
    while a <= b:
        out.append(a)
        a = add_months(a, 1)
    return tuple(out)


def plan_months(h: History, opts: Options) -> Plan:
    """Which list months are trained on and which are tested, per horizon."""
    if h.first_month is None:
        raise ValueError("the extract has no recorded crimes to backtest")
    last = date(h.as_of.year, h.as_of.month, 1)
    if month_end(last) > h.as_of:
        last = add_months(last, -1)
    history = opts.min_history_months or h.policy.window_months
    if opts.model:
        # Features look back a fixed span: no list month may start before it is all there,
        # or early (training) pools would be unlike later (test) ones.
        history = max(history, lookback_months(h))
    first = add_months(h.first_month, history - 1)
    big = opts.main_horizon
    a, b = month_index(first), month_index(last) - big
    note = ""
    train: tuple[date, ...] = ()
    validation: tuple[date, ...] = ()
    refit: tuple[date, ...] = ()
    start = first
    if not opts.model:
        note = "not run (--no-model)"
    elif b - a < big + MIN_TRAIN_MONTHS - 1:
        need = 2 * big + history + MIN_TRAIN_MONTHS
        note = (
            f"not evaluated: an honest split at a {big}-month horizon needs at least "
            f"{need} complete months ({history} of history, {MIN_TRAIN_MONTHS} list months "
            f"to train and choose a model on, {big} for their outcomes, {big} to test)"
        )
    else:
        split = a + (b - a + big + MIN_TRAIN_MONTHS) // 2
        train = _range(first, index_month(split - big))[-TRAIN_MONTHS:]
        validation = train[-max(1, len(train) // 3) :]
        refit = _range(first, index_month(b))[-TRAIN_MONTHS:]
        start = index_month(split)
        note = (
            f"trained on {len(train)} list months, {month_label(train[0])} to "
            f"{month_label(train[-1])} (outcomes to {month_label(add_months(train[-1], big))}),"
            f" the model chosen on the last {len(validation)}; tested from "
            f"{month_label(start)}"
        )
    test = {hz: _range(start, add_months(last, -hz)) for hz in sorted(opts.horizons)}
    if not any(test.values()):
        raise ValueError(
            f"the history is too short to backtest: list months start at "
            f"{month_label(first)} and the shortest horizon ({min(opts.horizons)} months) "
            f"must end by {h.as_of.isoformat()}"
        )
    return Plan(first, last, big, train, test, validation, refit, note)


def _rfg_score(h: History) -> pl.Expr:
    pol = h.policy
    n = pl.len().over("cut_mi")
    denom = pl.when(n > 1).then(n - 1).otherwise(1)

    def pr(expr: pl.Expr, descending: bool = False) -> pl.Expr:
        return (expr.rank("min", descending=descending).over("cut_mi") - 1) / denom

    total = pol.rfg_recency + pol.rfg_frequency + pol.rfg_gravity
    return (
        pol.rfg_recency * pr(pl.col("days_since_last"), descending=True)
        + pol.rfg_frequency * pr(pl.col("policy_n"))
        + pol.rfg_gravity * pr(pl.col("policy_harm_c"))
    ) / total


def sort_keys(policy: str, horizon: int, measure: str) -> list[tuple[str, bool]]:
    """(column, descending) pairs that order the pool under ``policy``; ``measure`` ("harm"
    or "count") matters only to the oracle."""
    harm, n = f"fut_harm_c_{horizon}", f"fut_n_{horizon}"
    keys: dict[str, list[tuple[str, bool]]] = {
        "chi_harm": [
            ("policy_listed", True),
            ("policy_harm_c", True),
            ("policy_n", True),
            ("last_date", True),
        ],
        "count": [("policy_n", True), ("policy_harm_c", True), ("last_date", True)],
        "rfg": [("rfg_score", True), ("policy_harm_c", True)],
        "forecast": [("score_forecast", True)],
        "forecast_harm": [("score_forecast_harm", True)],
        "oracle": [(harm, True), (n, True)] if measure == "harm" else [(n, True), (harm, True)],
    }
    if policy not in keys:
        raise ValueError(f"unknown policy {policy!r}")
    return [*keys[policy], ("pix", False)]


def _groups(per_neighbourhood: bool) -> list[str]:
    return ["cut_mi", "neighbourhood"] if per_neighbourhood else ["cut_mi"]


def rank_pool(
    frame: pl.DataFrame,
    keys: list[tuple[str, bool]],
    per_neighbourhood: bool = False,
    top: int | None = None,
) -> pl.DataFrame:
    """The pool ranked by ``keys`` in each month (``rank``) or in each month and
    neighbourhood (``per_neighbourhood``), from 1. With ``top``, only the first ``top`` rows
    of each group are kept (a partial sort: thousands of rows, not the whole pool)."""
    groups = _groups(per_neighbourhood)
    by = [k for k, _ in keys]
    if top is not None:
        # the row numbers of each group's first ``top`` (one partial sort per group, not one
        # per column), then those rows, group columns first
        chosen = (
            frame.with_row_index("_row")
            .group_by(groups)
            .agg(pl.col("_row").top_k_by(by, top, reverse=[not d for _, d in keys]))
            .explode("_row")["_row"]
        )
        frame = frame[chosen].select(*groups, pl.exclude(groups))
    return frame.sort(
        [*groups, *by], descending=[False] * len(groups) + [d for _, d in keys], nulls_last=True
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over(groups))


def captured(ranked: pl.DataFrame, value: str, ks: list[int]) -> pl.DataFrame:
    """Per month and list size k: people listed and the sum of ``value`` over them, from
    ``rank_pool`` output (ranks within a neighbourhood are summed over neighbourhoods)."""
    per_rank = (
        ranked.group_by("cut_mi", "rank")
        .agg(pl.len().alias("n"), pl.col(value).sum().alias("v"))
        .sort("cut_mi", "rank")
        .with_columns(
            listed=pl.col("n").cum_sum().over("cut_mi"),
            captured=pl.col("v").cum_sum().over("cut_mi"),
        )
    )
    grid = (
        ranked.select("cut_mi")
        .unique()
        .join(pl.DataFrame({"k": ks}, schema={"k": pl.Int64}), how="cross")
        .sort("k")
    )
    return (
        grid.join_asof(
            per_rank.select("cut_mi", pl.col("rank").cast(pl.Int64), "listed", "captured").sort(
                "rank"
            ),
            left_on="k",
            right_on="rank",
            by="cut_mi",
            strategy="backward",
            check_sortedness=False,
        )
        .select(
            "cut_mi",
            "k",
            pl.col("listed").fill_null(0).cast(pl.Int64),
            pl.col("captured").fill_null(0).cast(pl.Int64),
        )
        .sort("cut_mi", "k")
    )


def _capture_columns(policy: str, horizons: Iterable[int]) -> list[str]:
    """The columns ranking ``policy`` and measuring what it caught at ``horizons`` read."""
    needed = {"cut_mi", "pix", "neighbourhood"}
    for hz in horizons:
        needed |= {f"fut_harm_c_{hz}", f"fut_n_{hz}"}
        for measure in ("harm", "count"):
            needed |= {k for k, _ in sort_keys(policy, hz, measure)}
    return sorted(needed)


def capture_by_month(
    frame: pl.DataFrame,
    totals: pl.DataFrame,
    policy: str,
    horizon: int,
    ks: list[int],
    per_neighbourhood: bool = False,
) -> pl.DataFrame:
    """One row per (month, k): people listed, harm (hundredths of a day) and victimisations
    caught, against the month's totals over all individuals."""
    top = max(ks)
    frame = frame.select(_capture_columns(policy, [horizon]))
    by_harm = rank_pool(frame, sort_keys(policy, horizon, "harm"), per_neighbourhood, top)
    by_count = (
        rank_pool(frame, sort_keys(policy, horizon, "count"), per_neighbourhood, top)
        if policy == "oracle"
        else by_harm
    )
    return capture_ranked(by_harm, by_count, totals, policy, horizon, ks)


def capture_ranked(
    by_harm: pl.DataFrame,
    by_count: pl.DataFrame,
    totals: pl.DataFrame,
    policy: str,
    horizon: int,
    ks: list[int],
) -> pl.DataFrame:
    """``capture_by_month`` from the pool already ranked (``rank_pool``, at least the top
    ``max(ks)``) for the harm and for the victimisations caught."""
    harm, n = f"fut_harm_c_{horizon}", f"fut_n_{horizon}"
    h = captured(by_harm, harm, ks).rename({"captured": "harm_captured_c"})
    c = captured(by_count, n, ks).select(
        "cut_mi", "k", pl.col("captured").alias("victimisations_captured")
    )
    return (
        h.join(c, on=["cut_mi", "k"])
        .join(totals, on="cut_mi")
        .with_columns(policy=pl.lit(policy), horizon=pl.lit(horizon, dtype=pl.Int64))
        .sort("k", "cut_mi")
    )


def pool_capture(by_month: pl.DataFrame) -> pl.DataFrame:
    """Shares pooled over months: sum captured / sum total."""
    return (
        by_month.group_by("horizon", "k", "policy")
        .agg(
            pl.len().alias("months"),
            pl.col("listed").mean().alias("listed_per_month"),
            pl.col("harm_captured_c").sum(),
            pl.col("harm_total_c").sum(),
            pl.col("victimisations_captured").sum(),
            pl.col("victimisations_total").sum(),
        )
        .with_columns(
            harm_pct=100 * pl.col("harm_captured_c") / pl.col("harm_total_c"),
            victimisations_pct=100
            * pl.col("victimisations_captured")
            / pl.col("victimisations_total"),
        )
        .with_columns(pl.col("harm_pct", "victimisations_pct").fill_nan(0.0))
    )


def month_totals(future: pl.DataFrame) -> pl.DataFrame:
    return future.group_by("cut_mi").agg(
        pl.col("fut_harm_c").sum().alias("harm_total_c"),
        pl.col("fut_n").sum().alias("victimisations_total"),
    )


@dataclass
class Backtest:
    meta: dict[str, Any]
    plan: Plan
    capture: pl.DataFrame
    by_month: pl.DataFrame
    curves: pl.DataFrame
    fairness_groups: pl.DataFrame
    fairness_gaps: pl.DataFrame
    model_report: dict[str, Any] | None
    models: dict[str, FittedModel]
    verdicts: list[str]
    differences: pl.DataFrame | None = None
    """Per horizon, k and pair of policies: the month-by-month difference in harm caught."""

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("data", {}).get("synthetic"))

    def results_table(self) -> pl.DataFrame:
        """policy x k x horizon with the shares caught, in days and per cent."""
        return self.capture.select(
            "horizon",
            "k",
            "policy",
            "months",
            "listed_per_month",
            (pl.col("harm_captured_c") / 100).alias("harm_captured_days"),
            (pl.col("harm_total_c") / 100).alias("harm_total_days"),
            "harm_pct",
            "victimisations_captured",
            "victimisations_total",
            "victimisations_pct",
        ).sort("horizon", "k", "policy")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "notice": SYNTHETIC_NOTICE if self.synthetic else None,
            **self.meta,
            "plan": self.plan.as_dict(),
            "verdicts": self.verdicts,
            "results": self.results_table().to_dicts(),
            "by_month": self.by_month.with_columns(
                (pl.col("harm_captured_c") / 100).alias("harm_captured_days"),
                (pl.col("harm_total_c") / 100).alias("harm_total_days"),
            )
            .drop("harm_captured_c", "harm_total_c", "cut_mi")
            .to_dicts(),
            "curves": self.curves.to_dicts(),
            "differences": {
                "meaning": (
                    "per horizon, list size and pair of policies: the difference in the share "
                    "of harm caught (percentage points), its mean over the test months and the "
                    "lowest and highest month; a policy is called better only when the lowest "
                    "month is above zero"
                ),
                "rows": self.differences.to_dicts() if self.differences is not None else [],
            },
            "fairness": {
                "groups": self.fairness_groups.to_dicts(),
                "gaps": self.fairness_gaps.to_dicts(),
            },
            "model": self.model_report,
        }
        return out


def _months_filter(months: tuple[date, ...] | list[date]) -> pl.Expr:
    return pl.col("cut_mi").is_in([month_index(m) for m in months])


def _share(part: object, whole: object) -> float:
    num = float(part) if isinstance(part, (int, float)) else 0.0
    den = float(whole) if isinstance(whole, (int, float)) else 0.0
    return 100 * num / den if den else 0.0


def _pct(v: float) -> str:
    return f"{v:.1f}%"


MIN_VERDICT_MONTHS = 3
"""Fewer test months cannot show how a difference varies from month to month."""


def month_differences(by_month: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Per list size, for every ordered pair of policies (``policy``, ``against``), the
    difference in the share of harm caught, month by month (percentage points): ``months``,
    ``mean``, ``low`` and ``high`` (the lowest and highest test month). ``by_month``: the
    rows of ``capture_by_month``."""
    rows = by_month.filter((pl.col("horizon") == horizon) & (pl.col("policy") != "oracle")).select(
        "k",
        "cut_mi",
        "policy",
        share=pl.when(pl.col("harm_total_c") > 0)
        .then(100 * pl.col("harm_captured_c") / pl.col("harm_total_c"))
        .otherwise(0.0),
    )
    pairs = rows.join(rows, on=["k", "cut_mi"], suffix="_b").filter(
        pl.col("policy") != pl.col("policy_b")
    )
    return (
        pairs.with_columns(diff=pl.col("share") - pl.col("share_b"))
        .group_by("k", "policy", pl.col("policy_b").alias("against"))
        .agg(
            pl.len().alias("months"),
            pl.col("diff").mean().alias("mean"),
            pl.col("diff").min().alias("low"),
            pl.col("diff").max().alias("high"),
        )
        .with_columns(horizon=pl.lit(horizon, dtype=pl.Int64))
        .sort("k", "policy", "against")
    )


def _signed(v: float) -> str:
    """+1.2, -0.3, and 0.0 (never -0.0)."""
    text = f"{v:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def verdicts(
    capture: pl.DataFrame, horizon: int, per_neighbourhood: bool, diffs: pl.DataFrame
) -> list[str]:
    """In words, per list size: which policy caught most of the horizon's harm, by how much
    against today's CHI-harm ranking, and whether the difference holds in every test month
    (the interval is the lowest to the highest month's difference). A policy is called
    better only when that interval lies wholly above zero; with fewer than
    ``MIN_VERDICT_MONTHS`` test months the verdict is withheld."""
    out = []
    scope = "in each neighbourhood" if per_neighbourhood else "force-wide"
    rows = capture.filter(pl.col("horizon") == horizon)
    for k in sorted(rows["k"].unique().to_list()):
        at = rows.filter(pl.col("k") == k)
        real = at.filter(pl.col("policy") != "oracle").sort(
            ["harm_pct", "policy"], descending=[True, False]
        )
        if real.is_empty():
            continue
        best = real.row(0, named=True)
        base = at.filter(pl.col("policy") == BASELINE).row(0, named=True)
        oracle = at.filter(pl.col("policy") == "oracle")
        size = f"the top {k} of each neighbourhood" if per_neighbourhood else f"{k}"
        bound = (
            f"; no list of {size} could have caught more than "
            f"{_pct(oracle['harm_pct'][0])} (oracle)"
            if not oracle.is_empty()
            else ""
        )
        months = int(best["months"])
        head = f"k={k} {scope}, next {horizon} months ({months} test months): "
        if months < MIN_VERDICT_MONTHS:
            out.append(
                head + f"verdict withheld: {months} test month(s), at least "
                f"{MIN_VERDICT_MONTHS} are needed to tell a difference from month-to-month "
                f"variation (a longer extract gives more); {SHORT_NAMES[best['policy']]} "
                f"caught {_pct(best['harm_pct'])} of the harm, CHI-harm ranking "
                f"{_pct(base['harm_pct'])}" + bound
            )
            continue
        d = diffs.filter((pl.col("k") == k) & (pl.col("policy") == best["policy"]))
        others = {r["against"]: r for r in d.iter_rows(named=True)}
        tied = sorted(
            (a for a, r in others.items() if r["low"] <= 0),
            key=lambda a: (-others[a]["mean"], a),
        )
        if best["policy"] == BASELINE:
            text = head + f"CHI-harm ranking caught the most harm, {_pct(base['harm_pct'])}"
        else:
            r = others[BASELINE]
            text = (
                head + f"{SHORT_NAMES[best['policy']]} caught {_pct(best['harm_pct'])} of the "
                f"harm against {_pct(base['harm_pct'])} for CHI-harm ranking, "
                f"{_signed(r['mean'])} points a month (interval across months "
                f"{_signed(r['low'])} to {_signed(r['high'])})"
            )
            text += (
                ": better in every test month"
                if r["low"] > 0
                else ": not shown to be better (the interval includes zero)"
            )
        if tied:
            text += "; not distinguishable from " + ", ".join(
                f"{SHORT_NAMES[a]} ({_signed(others[a]['low'])} to {_signed(others[a]['high'])})"
                for a in tied
            )
        out.append(text + bound)
    return out


MEASURE_WORDS = {
    "listing_rate": "listed",
    "precision": "victimised again among those listed",
    "false_negative_rate": "victimised again but not listed",
}


def against_reference(
    gaps: pl.DataFrame, groups: pl.DataFrame, opts: FairnessOptions | None = None
) -> pl.DataFrame:
    """Each gap beside a reference gap that says what an even-handed list would show, and
    ``beyond_reference``: flagged and out of proportion to it.

    - listing rate: the oracle's (a list of exactly those harmed next); out of proportion
      when the ratio of the most- to the least-listed group exceeds the oracle's ratio
      times the ratio threshold (1.25: the four-fifths rule applied to the excess);
    - false-negative rate: the oracle's gap; out of proportion when wider by more than the
      gap threshold;
    - precision: the oracle's precision is 1 for every group (it is always right), so its gap
      says nothing. The reference is the difference between the same two groups' rates of
      being victimised again across the whole pool: a group harmed again more often will be
      right more often on any list. Out of proportion when the precision gap exceeds it by
      more than the gap threshold.

    ``meaning`` is one sentence per flag saying what it shows."""
    opts = opts or FairnessOptions()
    oracle = gaps.filter(pl.col("policy") == "oracle").select(
        "k",
        "attribute",
        "measure",
        pl.col("gap").alias("oracle_gap"),
        pl.col("ratio").alias("oracle_ratio"),
    )
    rates = groups.select(
        "policy",
        "k",
        "attribute",
        "group",
        (pl.col("victimised") / pl.col("pool")).alias("_base"),
    )
    out = (
        gaps.join(oracle, on=["k", "attribute", "measure"], how="left")
        .join(
            rates.rename({"group": "max_group", "_base": "_base_max"}),
            on=["policy", "k", "attribute", "max_group"],
            how="left",
        )
        .join(
            rates.rename({"group": "min_group", "_base": "_base_min"}),
            on=["policy", "k", "attribute", "min_group"],
            how="left",
        )
        .with_columns(
            reference=pl.when(pl.col("measure") == "precision")
            .then(pl.lit("difference in rates of being victimised again in the pool"))
            .otherwise(pl.lit("oracle")),
            reference_gap=pl.when(pl.col("measure") == "precision")
            .then(pl.col("_base_max") - pl.col("_base_min"))
            .otherwise(pl.col("oracle_gap")),
        )
        .with_columns(excess=pl.col("gap") - pl.col("reference_gap"))
    )
    beyond = (
        pl.when(pl.col("measure") == "listing_rate")
        .then(
            pl.col("ratio").fill_null(float("inf"))
            > opts.ratio * pl.col("oracle_ratio").fill_null(float("inf"))
        )
        .otherwise(pl.col("excess") > opts.gap)
    )
    out = out.with_columns(
        beyond_reference=(pl.col("flagged") & pl.col("policy").ne("oracle") & beyond).fill_null(
            False
        )
    ).drop("_base_max", "_base_min")
    return out.with_columns(
        meaning=pl.Series([flag_sentence(r) for r in out.iter_rows(named=True)], dtype=pl.String)
    )


def flag_sentence(r: dict[str, Any]) -> str | None:
    """One sentence for a flagged gap (None when not flagged)."""
    if not r.get("flagged") or r.get("max") is None or r.get("min") is None:
        return None
    what = MEASURE_WORDS.get(str(r["measure"]), str(r["measure"]))
    name = SHORT_NAMES.get(str(r["policy"]), str(r["policy"]))
    attribute = str(r["attribute"]).replace("_", " ")
    head = (
        f"At k={r['k']}, {name}: {r['max_group']} {100 * r['max']:.1f}% {what} against "
        f"{r['min_group']} {100 * r['min']:.1f}% (by {attribute})"
    )
    ref = r.get("reference_gap")
    if r["policy"] == "oracle":
        return head + "; this is who was actually harmed next, the reference for the others."
    if ref is None:
        return head + "; no reference to judge it against."
    if r["measure"] == "precision":
        tail = (
            f"; the two groups' rates of being victimised again differ by "
            f"{100 * ref:+.1f} points across the pool"
        )
    elif r["measure"] == "listing_rate":
        ratio = r.get("ratio")
        oratio = r.get("oracle_ratio")
        tail = (
            f"; ratio {ratio:.2f} against {oratio:.2f} for a list of those harmed next"
            if ratio is not None and oratio is not None
            else "; the oracle lists the two groups differently too"
        )
    else:
        tail = f"; a list of those harmed next shows a gap of {100 * ref:.1f} points"
    verdict = (
        ", so the gap is out of proportion to who was harmed next: worth a look."
        if r.get("beyond_reference")
        else ", so the gap reflects who was harmed next rather than the ranking."
    )
    return head + tail + verdict


def fairness_verdicts(gaps: pl.DataFrame) -> list[str]:
    flagged = gaps.filter(pl.col("flagged") & (pl.col("policy") != "oracle"))
    beyond = flagged.filter(pl.col("beyond_reference"))
    if flagged.is_empty():
        return ["fairness: no gap above the thresholds for any policy"]
    text = (
        f"fairness: {flagged.height} gap(s) above the thresholds, {beyond.height} of them out "
        "of proportion to their reference (who was harmed next)"
    )
    if not beyond.is_empty():
        text += "; the widest: " + " ".join(
            str(r["meaning"])
            for r in beyond.sort("excess", "policy", descending=[True, False])
            .head(3)
            .iter_rows(named=True)
        )
    return [text]


def _labels(frame: pl.DataFrame, horizon: int, threshold_c: int) -> dict[str, np.ndarray]:
    return {
        "victimisation": (frame[f"fut_n_{horizon}"] >= 1).cast(pl.Int64).to_numpy(),
        "harm": (frame[f"fut_harm_c_{horizon}"] >= threshold_c).cast(pl.Int64).to_numpy(),
    }


def evaluate_models(
    table: pl.DataFrame,
    p: Plan,
    opts: Options,
    threshold_c: int,
    progress: Progress = silent,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per label: fit both models on the training months before the validation months,
    choose among them and the CHI-harm ranking on the validation months
    (``chi.forecast.selection``), refit both on every training month, and measure all three
    on the main horizon's test months (out of time; with the leakage check and permutation
    importance). Returns the table with ``score_forecast`` / ``score_forecast_harm`` on the
    test rows for the labels whose chosen candidate is a model, and the report."""
    big = p.main_horizon
    features = list(opts.features)
    missing = [f for f in features if f not in table.columns]
    if missing:
        raise ValueError(f"unknown model feature(s): {', '.join(missing)}")
    train = table.filter(_months_filter(p.train_months))
    fit_months = tuple(m for m in p.train_months if m not in set(p.validation_months))
    fit_rows = train.filter(_months_filter(fit_months))
    valid_rows = train.filter(_months_filter(p.validation_months))
    test_all = table.filter(pl.col("cut_mi") >= month_index(p.test_months[big][0]))
    test_main = table.filter(_months_filter(p.test_months[big]))
    in_main = test_all.select(_months_filter(p.test_months[big])).to_series().to_numpy()
    y_train = _labels(train, big, threshold_c)
    y_fit = _labels(fit_rows, big, threshold_c)
    y_valid = _labels(valid_rows, big, threshold_c)
    y_test = _labels(test_main, big, threshold_c)
    report: dict[str, Any] = {
        "horizon_months": big,
        "harm_threshold_days": threshold_c / 100,
        "features": features,
        "selection": (
            "fitted on the training months before the validation months, chosen on the "
            "validation months by AUC (a model must beat every simpler candidate: gradient "
            "boosting the logistic baseline and the CHI-harm ranking, the logistic baseline "
            "the CHI-harm ranking), then refitted on every training month and measured out "
            "of time on the test months"
        ),
        "labels": {},
    }
    scores: dict[str, np.ndarray] = {}
    x_test = matrix(test_main, features)
    months_test = test_main["cut_mi"].to_numpy()
    chosen_models: dict[str, FittedModel] = {}
    for i, (policy, label) in enumerate(FORECASTS.items()):
        progress(f"fitting the {label} models", 0.3 + 0.2 * i)

        def fit_on(rows: pl.DataFrame, y: np.ndarray, kind: str, label: str = label) -> FittedModel:
            return train_model(rows, features, label, y, big, kind, opts.seed, opts.max_train_rows)

        try:
            early = {kind: fit_on(fit_rows, y_fit[label], kind) for kind in ("gbm", "logistic")}
            models = {kind: fit_on(train, y_train[label], kind) for kind in ("gbm", "logistic")}
        except ModelError as exc:
            report["labels"][label] = {"error": str(exc)}
            continue
        valid_auc = {
            "chi_harm": validation_auc(y_valid[label], chi_harm_score(valid_rows)),
            **{k: validation_auc(y_valid[label], m.predict(valid_rows)) for k, m in early.items()},
        }
        choice = choose_model(valid_auc)
        predicted = {
            "gbm": models["gbm"].predict(test_main),
            "logistic": models["logistic"].predict(test_main),
            "chi_harm": chi_harm_score(test_main),
        }
        if choice["chosen"] != "chi_harm":
            chosen = models[choice["chosen"]]
            chosen_models[label] = chosen
            scores[policy] = chosen.predict(test_all)
            predicted[choice["chosen"]] = scores[policy][in_main]
        measured = {
            kind: metrics(
                months_test, y_test[label], predicted[kind], list(opts.ks), kind != "chi_harm"
            )
            for kind in ("gbm", "logistic", "chi_harm")
        }
        report["labels"][label] = {
            "train_rows": models["gbm"].meta["train_rows"],
            "train_positives": models["gbm"].meta["train_positives"],
            **choice,
            "out_of_time_auc": {k: m["auc"] for k, m in measured.items()},
            "models": measured,
            "leakage": leakage_check(x_test, y_test[label], features),
        }
    first = chosen_models.get("victimisation")
    if first is not None:
        progress("permutation importance", 0.7)
        report["importance"] = importance(
            first.pipeline, x_test, y_test["victimisation"], features, opts.seed
        )
    scored = test_all.select("cut_mi", "pix").with_columns(
        **{f"score_{p_}": pl.Series(s) for p_, s in scores.items()}
    )
    return table.join(scored, on=["cut_mi", "pix"], how="left"), report


def refit(
    h: History,
    p: Plan,
    opts: Options,
    threshold_c: int,
    report: dict[str, Any],
    known: pl.DataFrame | None = None,
) -> dict[str, FittedModel]:
    """The models to keep: the evaluated recipe refitted on the most recent labelled list
    months, each with its held-out evaluation attached. Rows of those months already in
    ``known`` (the backtest's table) are reused; only the missing months are built."""
    big = p.main_horizon
    if not p.refit_months:
        return {}
    columns = [*ID_COLUMNS, "pix", *opts.features, f"fut_n_{big}", f"fut_harm_c_{big}"]
    have: set[date] = set()
    parts = []
    if known is not None and all(c in known.columns for c in columns):
        reuse = known.filter(_months_filter(p.refit_months)).select(columns)
        have = {index_month(i) for i in reuse["cut_mi"].unique().to_list()}
        parts.append(reuse)
    missing = [m for m in p.refit_months if m not in have]
    if missing:
        built = feature_table(h, missing)
        built = with_outcomes(built, outcomes(h, missing, big), big, month_index(missing[-1]))
        parts.append(built.select(columns))
    table = pl.concat(parts).sort("cut_mi", "pix")
    y = _labels(table, big, threshold_c)
    out: dict[str, FittedModel] = {}
    for label, evaluation in report["labels"].items():
        if "error" in evaluation or evaluation.get("chosen") not in ("gbm", "logistic"):
            continue
        model = train_model(
            table,
            list(opts.features),
            label,
            y[label],
            big,
            str(evaluation["chosen"]),
            opts.seed,
            opts.max_train_rows,
        )
        model.meta.update(
            {
                "trained_on": {
                    "first_list_month": month_label(p.refit_months[0]),
                    "last_list_month": month_label(p.refit_months[-1]),
                },
                "harm_threshold_days": threshold_c / 100,
                "evaluation": evaluation,
                "evaluation_plan": p.as_dict(),
                "data": h.describe(),
            }
        )
        out[label] = model
    return out


def _month_label(col: str) -> pl.Expr:
    return pl.format(
        "{}-{}",
        (pl.col(col) // 12).cast(pl.String),
        (pl.col(col) % 12 + 1).cast(pl.String).str.zfill(2),
    )


def _fairness(
    table: pl.DataFrame, months: tuple[date, ...], policies: list[str], big: int, opts: Options
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The audit at the main horizon over its test months: every policy at every k."""
    key_schema: dict[str, pl.DataType] = {"policy": pl.String(), "k": pl.Int64()}
    if not months:
        return audit(empty_counts(key_schema), opts.fairness, keys=["policy", "k"])
    keys = {k for pol in policies for k, _ in sort_keys(pol, big, "harm")}
    pool = table.filter(_months_filter(months)).select(
        *sorted(keys | {"cut_mi", "neighbourhood", *ATTRIBUTES}),
        victimised=pl.col(f"fut_n_{big}") >= 1,
    )
    pooled = pool_counts(pool)
    parts = []
    for pol in policies:
        ranked = rank_pool(pool, sort_keys(pol, big, "harm"), opts.per_neighbourhood, max(opts.ks))
        for k in opts.ks:
            listed = ranked.filter(pl.col("rank") <= k)
            parts.append(
                group_counts(pool, listed, pooled=pooled).with_columns(
                    policy=pl.lit(pol), k=pl.lit(k, dtype=pl.Int64)
                )
            )
    return audit(pl.concat(parts), opts.fairness, keys=["policy", "k"])


def _with_outcomes(
    h: History, p: Plan, table: pl.DataFrame, horizons: Iterable[int]
) -> tuple[pl.DataFrame, dict[int, pl.DataFrame]]:
    """The feature table with each horizon's outcomes (for the months it can label), and
    each horizon's monthly totals of harm and victimisations."""
    totals: dict[int, pl.DataFrame] = {}
    for hz in sorted(set(horizons)):
        labelled = [m for m in p.all_months if add_months(m, hz) <= p.last_month]
        fut = outcomes(h, labelled, hz)
        table = with_outcomes(table, fut, hz, month_index(p.last_month) - hz)
        totals[hz] = month_totals(fut)
    return table, totals


def _reach(
    table: pl.DataFrame, totals: dict[int, pl.DataFrame], p: Plan
) -> dict[str, dict[str, float]]:
    """Per horizon, the share of the test months' harm and victimisations on the pool."""
    reach = {}
    for hz, months in sorted(p.test_months.items()):
        if months:
            frame = table.filter(_months_filter(months))
            tot = totals[hz].filter(_months_filter(months)).sum()
            reach[str(hz)] = {
                "harm_pct": _share(frame[f"fut_harm_c_{hz}"].sum(), tot["harm_total_c"][0]),
                "victimisations_pct": _share(
                    frame[f"fut_n_{hz}"].sum(), tot["victimisations_total"][0]
                ),
            }
    return reach


def _pool(h: History, people_per_month: int, reach: dict[str, Any]) -> dict[str, Any]:
    """Who a list month's policies choose from, and how much of what came next it reached."""
    return {
        "definition": (
            "individuals not deceased by the end of the list month with at least one "
            f"counted victimisation in the {lookback_months(h)} months ending with it"
        ),
        "lookback_months": lookback_months(h),
        "people_per_month": people_per_month,
        "reach": reach,
        "reach_meaning": (
            "share of each horizon's harm and victimisations that fell on the pool at "
            "all: the most any list of the pool could catch; the rest fell on people "
            f"with no victimisation in the {lookback_months(h)} months before"
        ),
    }


def _capture_by_month(
    table: pl.DataFrame,
    totals: dict[int, pl.DataFrame],
    p: Plan,
    policies: list[str],
    opts: Options,
) -> pl.DataFrame:
    """What each policy caught in each test month of each horizon, at the list sizes asked
    for and those the capture curves draw. A policy other than the oracle ranks a month's
    pool the same way at every horizon, so it is ranked once over every horizon's test
    months (a month's ranks do not depend on the other months) and each horizon reads its
    own months of it: the same figures as ``capture_by_month`` per horizon."""
    curve_ks = CURVE_KS_NEIGHBOURHOOD if opts.per_neighbourhood else CURVE_KS
    ks = sorted(set(opts.ks) | set(curve_ks))
    tested = {hz: months for hz, months in sorted(p.test_months.items()) if months}
    every = sorted({m for months in tested.values() for m in months})
    ranked: dict[str, pl.DataFrame] = {}
    for pol in policies:
        if pol != "oracle":
            frame = table.filter(_months_filter(every)).select(_capture_columns(pol, tested))
            keys = sort_keys(pol, max(tested), "harm")
            ranked[pol] = rank_pool(frame, keys, opts.per_neighbourhood, max(ks))
    parts = []
    for hz, months in tested.items():
        for pol in policies:
            if pol == "oracle":
                frame = table.filter(_months_filter(months))
                parts.append(
                    capture_by_month(frame, totals[hz], pol, hz, ks, opts.per_neighbourhood)
                )
                continue
            rows = ranked[pol].filter(_months_filter(months))
            parts.append(capture_ranked(rows, rows, totals[hz], pol, hz, ks))
    return pl.concat(parts).with_columns(cut_month=_month_label("cut_mi"))


def run_backtest(h: History, opts: Options | None = None, progress: Progress = silent) -> Backtest:
    """Backtest every policy on ``h`` under ``opts``."""
    opts = opts or Options()
    p = plan_months(h, opts)
    progress("building features", 0.05)
    table, totals = _with_outcomes(h, p, feature_table(h, p.all_months), opts.horizons)
    threshold = (
        opts.harm_threshold_days
        if opts.harm_threshold_days is not None
        else float(h.policy.min_harm)
    )
    threshold_c = round(threshold * 100)
    report: dict[str, Any] | None = None
    if p.train_months:
        table, report = evaluate_models(table, p, opts, threshold_c, progress)
    table = table.with_columns(rfg_score=_rfg_score(h))
    policies = [pol for pol in POLICIES if pol not in FORECASTS or f"score_{pol}" in table.columns]
    progress("measuring capture", 0.75)
    by_month_all = _capture_by_month(table, totals, p, policies, opts)
    pooled = pool_capture(by_month_all)
    capture = pooled.filter(pl.col("k").is_in(list(opts.ks))).sort("horizon", "k", "policy")
    curves = pooled.select("horizon", "k", "policy", "harm_pct", "victimisations_pct").sort(
        "horizon", "policy", "k"
    )
    by_month = (
        by_month_all.filter(pl.col("k").is_in(list(opts.ks)))
        .select(
            "horizon",
            "policy",
            "k",
            "cut_month",
            "cut_mi",
            "listed",
            "harm_captured_c",
            "harm_total_c",
            "victimisations_captured",
            "victimisations_total",
        )
        .sort("horizon", "policy", "k", "cut_mi")
    )
    progress("fairness audit", 0.85)
    big = p.main_horizon
    main_months = p.test_months.get(big) or ()
    groups, gaps = _fairness(table, main_months, policies, big, opts)
    gaps = against_reference(gaps, groups, opts.fairness)
    verdict_horizon = big if main_months else max(hz for hz, ms in p.test_months.items() if ms)
    diffs = pl.concat(
        [month_differences(by_month_all, hz) for hz, ms in sorted(p.test_months.items()) if ms]
    ).filter(pl.col("k").is_in(list(opts.ks)))
    words = verdicts(capture, verdict_horizon, opts.per_neighbourhood, diffs)
    words.extend(fairness_verdicts(gaps))
    pool_size = table.filter(_months_filter(main_months)).height if main_months else 0
    models: dict[str, FittedModel] = {}
    if opts.refit and report is not None:
        progress("refitting on the latest labelled months", 0.9)
        models = refit(h, p, opts, threshold_c, report, table)
    pool = _pool(h, round(pool_size / max(1, len(main_months))), _reach(table, totals, p))
    return Backtest(
        meta={
            "data": h.describe(),
            "policy": h.policy.as_manifest(),
            "options": {
                "ks": list(opts.ks),
                "horizons": sorted(opts.horizons),
                "per_neighbourhood": opts.per_neighbourhood,
                "min_history_months": opts.min_history_months or h.policy.window_months,
                "harm_threshold_days": threshold,
                "fairness": opts.fairness.as_dict(),
                "seed": opts.seed,
            },
            "pool": pool,
            "policies": {k: v for k, v in POLICIES.items() if k in policies},
        },
        plan=p,
        capture=capture,
        by_month=by_month,
        curves=curves,
        fairness_groups=groups,
        fairness_gaps=gaps,
        model_report=report,
        models=models,
        verdicts=words,
        differences=diffs,
    )
