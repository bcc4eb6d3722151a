"""Did engagement reduce harm? Cohort tracking and an impact review that survives scrutiny.

People are listed in the month their harm peaks, so their harm falls afterwards whatever
anyone does (regression to the mean): a before/after comparison of engaged people always
looks like success. And meetings do not engage at random: they pick the highest harm, the
most crimes, the escalating cases, whose harm was at a sharper peak and falls further. The
honest estimate compares the engaged with **listed people who were not engaged** and who
looked the same on everything the meeting could see (docs/meetings.md, section 5):

- Each cohort member has an index month (the list month of the meeting that engaged them).
  *Before* is the ``before_months`` months ending with the index month; *after* is the
  ``after_months`` months after it. Members not on the list in their index month are
  counted (``not_listed``); those whose after-period has not ended by the run's last month
  are counted as not yet reviewable.
- The pool is everyone on the list who had not been engaged by their list month (people
  engaged later stay in it) and whose after-period has ended. Matching: exactly on area,
  new or continuing, domestic abuse and listing reasons, and listed in the cohort member's
  own list month (``MONTH_WINDOW`` months either side when above 0: pooled list months); then
  within a caliper on the propensity score (a logistic regression on the pre-period path:
  harm and victimisations month by month over the before months, harm and crimes in the
  window, also a suspect); then the ``NEIGHBOURS`` nearest on that path, with replacement;
  then a linear bias correction on the path and the list month. Members with no comparison
  are unmatched and reported, with the share that found one.
- Difference in differences on the proportional scale: the relative effect is the matched
  cohort's after-period mean over (its before-period mean × the comparison's after/before),
  minus one; −0.30 means engagement took 30% off. Harm and victimisations are both reported;
  harm is heavy tailed and much less precise.
- Beside it: the naive before/after change, a balance table (standardised mean differences
  before and after matching), a placebo (the same comparison over the months before the
  before-period, when nobody had been engaged) and the smallest effect the review could
  detect. The verdict is withheld, with the reasons in plain words, when too few matched,
  fewer than half found a comparison, balance fails or the placebo shows a difference.
- 95% intervals: a bootstrap that reweights people (each person's cohort row and all their
  comparison rows together) and keeps the matches (``reps`` draws, fixed seed, so
  reproducible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from chi import sql
from chi.exports.formats import Document, ExportMeta, export
from chi.months import parse_month
from chi.reading.lists import Scope, run_connection
from chi.scoring.runs import Run

MEASURES = ("harm", "victimisations")


def _month_number(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` as a count of months, so that month arithmetic is integer arithmetic."""
    return expr.str.slice(0, 4).cast(pl.Int32) * 12 + expr.str.slice(5, 2).cast(pl.Int32) - 1


def monthly_harm(victimisations: pl.DataFrame) -> pl.DataFrame:
    """Counted harm and victimisations per person and month (``YYYY-MM``)."""
    return (
        victimisations.filter(pl.col("counted"))
        .group_by("person_id", "month")
        .agg(
            pl.col("weight").cast(pl.Float64).fill_null(0).sum().alias("harm"),
            pl.len().cast(pl.Float64).alias("victimisations"),
        )
    )


def cohort_tracking(
    victimisations: pl.DataFrame, cohort: pl.DataFrame, span: int = 12
) -> pl.DataFrame:
    """Mean harm and victimisations per person by month relative to the start (−span..+span).

    ``cohort`` has ``person_id`` and ``start_month`` (``YYYY-MM``, month 0), and optionally a
    ``weight`` per row (a matched comparison group); a person may appear more than once with
    different start months. ``people`` is the number of rows.
    """
    rows = cohort.select(
        "person_id",
        "start_month",
        (pl.col("weight") if "weight" in cohort.columns else pl.lit(1.0))
        .cast(pl.Float64)
        .alias("w"),
    ).with_row_index("row")
    per_month = monthly_harm(victimisations).with_columns(
        _month_number(pl.col("month")).alias("at")
    )
    rel = pl.DataFrame({"relative_month": list(range(-span, span + 1))})
    grid = rows.join(rel, how="cross").with_columns(
        (_month_number(pl.col("start_month")) + pl.col("relative_month")).alias("at")
    )
    joined = grid.join(
        per_month.select("person_id", "at", "harm", "victimisations"),
        on=["person_id", "at"],
        how="left",
    ).fill_null(0)
    total = float(rows["w"].sum()) if rows.height else 0.0
    return (
        joined.group_by("relative_month")
        .agg(
            ((pl.col("harm") * pl.col("w")).sum() / max(total, 1e-12)).alias("harm_per_person"),
            ((pl.col("victimisations") * pl.col("w")).sum() / max(total, 1e-12)).alias(
                "victimisations_per_person"
            ),
        )
        .with_columns(pl.lit(rows.height).alias("people"))
        .sort("relative_month")
    )


def _pct(x: float) -> str:
    """A share as a whole percentage, halves rounded up (robust to float noise)."""
    return f"{math.floor(100 * x + 0.5 + 1e-9):d}%"


def signed_percent(x: float) -> str:
    """A change as a signed whole percentage (``-24%``, ``+8%``)."""
    text = _pct(abs(x))
    return text if text == "0%" else ("-" if x < 0 else "+") + text


@dataclass(frozen=True)
class Measure:
    """One outcome (harm in days, or victimisations) of an impact review, per person."""

    name: str
    before_engaged: float
    after_engaged: float
    before_comparison: float
    after_comparison: float
    naive_change: float
    """Engaged after/before − 1: what a before/after review would report."""
    comparison_change: float
    counterfactual: float
    """The engaged group's after-period mean had it changed as the comparison group did."""
    did: float
    """After minus counterfactual, per person (negative = reduced)."""
    relative_effect: float
    ci_low: float
    ci_high: float

    @property
    def covers_zero(self) -> bool:
        return self.ci_low <= 0 <= self.ci_high

    def verdict(self) -> str:
        what = "harm" if self.name == "harm" else "victimisations"
        interval = f"95% interval {signed_percent(self.ci_low)} to {signed_percent(self.ci_high)}"
        if self.covers_zero:
            return (
                f"the interval includes zero: this review cannot tell engagement's effect on "
                f"{what} from chance (estimate {signed_percent(self.relative_effect)}, {interval})."
            )
        if self.relative_effect < 0:
            size, lo, hi = (_pct(-x) for x in (self.relative_effect, self.ci_high, self.ci_low))
            return f"engagement reduced {what} by about {size} (95% interval {lo} to {hi})."
        size, lo, hi = (_pct(x) for x in (self.relative_effect, self.ci_low, self.ci_high))
        return f"engagement increased {what} by about {size} (95% interval {lo} to {hi})."


def _empty_measure(name: str) -> Measure:
    return Measure(name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


REASONS = ("high_harm", "repeat", "child", "also_suspect")
REASON_LABELS = {
    "high_harm": "listed for high harm",
    "repeat": "listed as a repeat victim",
    "child": "a child",
    "also_suspect": "also a suspect",
}
STRATA = ["area", "status", "da", "high_harm", "repeat", "child"]
"""Matched exactly: the same area, new or continuing, domestic abuse or not, and the same
listing reasons (high harm, repeat victim, child)."""
EXACT = ["month", *STRATA]
"""A cohort member's stratum as reported: their list month and the exactly matched keys."""
MONTH_WINDOW = 0
"""Comparisons come from the cohort member's own list month, or (when above 0) up to this
many months either side: pooled list months. Pooling was measured (docs/meetings.md,
section 5): with 2 months either side more of a top-harm cohort found a comparison and the
bootstrap interval narrowed, but over eight generated extracts the estimates with no effect
spread further (SD 0.071 against 0.042) and leaned negative (mean -0.05 against -0.02):
the extra members are the extreme ones, compared with people from other months whose
after-period runs over other calendar months. So the list month stays exact."""


def comparison_months() -> str:
    """Where comparisons come from in time, in words (for the page and the messages)."""
    if MONTH_WINDOW == 0:
        return "listed in the same month"
    return f"listed within {MONTH_WINDOW} month{'s' if MONTH_WINDOW != 1 else ''} of them"


NEIGHBOURS = 25
"""Each cohort member is compared with up to this many nearest listed, not engaged people
(within the caliper): more comparisons spread the weight of the few passed-over people who
resemble the meeting's picks (docs/meetings.md, section 5)."""
PS_CALIPER = 0.2
"""No comparison whose propensity score's logit is further than this many SDs away."""
PS_MIN_COHORT = 50
"""Below this many cohort members a propensity score would be over-fitted (a handful of
people can always be told apart from the rest), so a distance caliper is used instead."""
DISTANCE_CALIPER = 1.0
"""For a small cohort: no comparison further than this (root mean square of the
standardised feature differences)."""
SMD_LIMIT = 0.1
"""A standardised mean difference above this after matching is a balance failure."""
MIN_SHARE = 0.5
"""A verdict needs at least this share of the reviewable cohort to have found a comparison."""
MIN_MATCHED = 20
"""A verdict needs at least this many matched cohort members."""
POWER_Z = 1.959964 + 0.841621
"""z for a two-sided 5% test plus z for 80% power: the minimum detectable effect in SEs."""


def _listed(victim_list: pl.DataFrame, areas: pl.DataFrame) -> pl.DataFrame:
    """The list rows with what matching uses: area, da, status, crimes and reason flags."""
    cols = victim_list.columns
    reasons = pl.col("reasons") if "reasons" in cols else pl.lit(None, dtype=pl.List(pl.String))
    return (
        victim_list.join(areas, on="neighbourhood_code", how="left")
        .with_columns(
            pl.col("area").fill_null("unknown"),
            (pl.col("da_crimes") > 0).alias("da"),
            (pl.col("status") if "status" in cols else pl.lit("new")).alias("status"),
            pl.col("harm_days").cast(pl.Float64).fill_null(0),
            (pl.col("crimes") if "crimes" in cols else pl.lit(0)).cast(pl.Float64).alias("crimes"),
            *(
                reasons.list.contains(pl.lit(r)).fill_null(False).cast(pl.Float64).alias(r)
                for r in REASONS
            ),
        )
        .select(
            "month",
            "person_id",
            "area",
            "status",
            "da",
            "harm_days",
            "crimes",
            *REASONS,
        )
    )


def _paths(
    rows: pl.DataFrame, monthly: pl.DataFrame, first: int, last: int
) -> tuple[np.ndarray, np.ndarray]:
    """(harm, victimisations): a row per ``rows`` row (person_id, month) in order, a column
    per month from ``first`` to ``last`` relative to the row's month."""
    width = last - first + 1
    if rows.is_empty():
        return np.zeros((0, width)), np.zeros((0, width))
    keys = rows.select("person_id", _month_number(pl.col("month")).alias("base")).with_row_index(
        "row"
    )
    offsets = pl.DataFrame({"offset": list(range(first, last + 1))}, schema={"offset": pl.Int32})
    grid = keys.join(offsets, how="cross").with_columns(
        (pl.col("base") + pl.col("offset")).alias("at")
    )
    per_month = monthly.select(
        "person_id", _month_number(pl.col("month")).alias("at"), "harm", "victimisations"
    )
    joined = (
        grid.join(per_month, on=["person_id", "at"], how="left")
        .with_columns(pl.col("harm").fill_null(0), pl.col("victimisations").fill_null(0))
        .sort("row", "offset")
    )
    return (
        joined["harm"].to_numpy().astype(np.float64).reshape(-1, width),
        joined["victimisations"].to_numpy().astype(np.float64).reshape(-1, width),
    )


@dataclass(frozen=True)
class _Side:
    """One group's rows: the list row, its month-by-month path and its matching features."""

    rows: pl.DataFrame
    harm: np.ndarray
    victimisations: np.ndarray
    features: np.ndarray
    raw: np.ndarray
    month: np.ndarray
    """The list month of each row as a count of months."""


def _side(rows: pl.DataFrame, monthly: pl.DataFrame, before: int, after: int) -> _Side:
    harm, vict = _paths(rows, monthly, -before - after + 1, after)
    path = slice(after, after + before)  # the before months, oldest first
    window = rows.select("harm_days", "crimes").to_numpy().astype(np.float64)
    flags = rows.select(*REASONS).to_numpy().astype(np.float64)
    features = np.hstack(
        [
            np.log1p(np.maximum(harm[:, path], 0)),
            np.log1p(vict[:, path]),
            np.log1p(np.maximum(window, 0)),
            flags,
        ]
    )
    raw = np.hstack(
        [
            np.log1p(np.maximum(harm[:, path], 0)),
            vict[:, path],
            np.log1p(window[:, :1]),
            window[:, 1:],
            flags,
        ]
    )
    month = (
        rows.select(_month_number(pl.col("month")))
        .to_series()
        .to_numpy()
        .astype(np.float64)
        .reshape(-1)
        if rows.height
        else np.zeros(0)
    )
    return _Side(rows, harm, vict, features, raw, month)


def _feature_names(before: int) -> list[str]:
    months = [f"month {o}" if o else "month 0 (list month)" for o in range(-before + 1, 1)]
    return [
        *(f"harm (log days), {m}" for m in months),
        *(f"victimisations, {m}" for m in months),
        "harm in the listing window (log days)",
        "crimes in the listing window",
        *(REASON_LABELS[r] for r in REASONS),
    ]


def _propensity(e: _Side, c: _Side, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit of the propensity score (the chance of being in the cohort given the matching
    features), for the engaged and the comparison rows: a logistic regression of cohort
    membership on the standardised features."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([e.features, c.features]) / scale
    y = np.r_[np.ones(len(e.features)), np.zeros(len(c.features))]
    if len(c.features) == 0 or len(e.features) == 0:
        return np.zeros(len(e.features)), np.zeros(len(c.features))
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(x, y)
    logit = model.decision_function(x)
    return logit[: len(e.features)], logit[len(e.features) :]


def _match(
    e: _Side, c: _Side, e_gid: np.ndarray, c_gid: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For each engaged row, the comparison rows it is matched to: in its own exact group
    (``STRATA``), listed within MONTH_WINDOW months of its list month, within PS_CALIPER
    standard deviations of its propensity score's logit, the NEIGHBOURS nearest on the
    standardised features (root mean square difference), nearest first."""
    both = np.vstack([e.features, c.features])
    scale = both.std(axis=0) if len(both) else np.ones(e.features.shape[1])
    scale[~(scale > 0)] = 1.0
    fe, fc = e.features / scale, c.features / scale
    small = len(fe) < PS_MIN_COHORT
    pe, pc = (np.zeros(len(fe)), np.zeros(len(fc))) if small else _propensity(e, c, scale)
    spread = float(np.r_[pe, pc].std()) if len(pe) + len(pc) > 1 else 0.0
    caliper = PS_CALIPER * spread if spread > 0 else np.inf
    matches: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(e_gid)
    weights: list[np.ndarray] = [np.empty(0)] * len(e_gid)
    # Comparison rows in (group, month) order, so a group's months around m are one slice.
    span = float(max(e.month.max(initial=0), c.month.max(initial=0))) + MONTH_WINDOW + 1
    c_key = c_gid * span + c.month
    c_order = np.argsort(c_key, kind="stable")
    sorted_key = c_key[c_order]
    e_key = e_gid * span + e.month
    for key in np.unique(e_key):
        lo = np.searchsorted(sorted_key, key - MONTH_WINDOW, side="left")
        hi = np.searchsorted(sorted_key, key + MONTH_WINDOW, side="right")
        cand = c_order[lo:hi]
        if cand.size == 0:
            continue
        rows = np.flatnonzero(e_key == key)
        dist = np.sqrt(((fe[rows, None, :] - fc[None, cand, :]) ** 2).mean(axis=2))
        dist[np.abs(pe[rows, None] - pc[None, cand]) > caliper] = np.inf
        if small:
            dist[dist > DISTANCE_CALIPER] = np.inf
        for k, i in enumerate(rows):
            order = np.argsort(dist[k], kind="stable")[:NEIGHBOURS]
            matches[i] = cand[order[np.isfinite(dist[k][order])]]
            weights[i] = np.ones(len(matches[i]))
    return matches, weights


def _design(side: _Side) -> np.ndarray:
    """What the bias correction adjusts for: the matching features and the list month."""
    return np.hstack([side.features, side.month[:, None]])


def _bias_fit(c: _Side, used: np.ndarray, outcomes: np.ndarray) -> np.ndarray | None:
    """Linear regression of the comparison outcomes on the matching features and the list
    month (for the bias correction of the matched comparison); None when there are too few
    rows."""
    x = _design(c)[used]
    if len(x) <= 2 * (x.shape[1] + 1):
        return None
    design = np.hstack([np.ones((len(x), 1)), x])
    beta, *_ = np.linalg.lstsq(design, outcomes[used], rcond=None)
    return np.asarray(beta[1:])


def _smd(
    e_all: np.ndarray, pool: np.ndarray, e_m: np.ndarray, c_m: np.ndarray, w: np.ndarray
) -> tuple[float, float, float, float, float]:
    if len(e_all) == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    sd = math.sqrt((float(e_all.var()) + float(pool.var())) / 2) if len(pool) else 0.0
    if sd == 0 and len(pool):
        # Both groups constant: the spread of the two together, so that a difference shows.
        sd = float(np.r_[e_all, pool].std())
    me, mp = float(e_all.mean()), float(pool.mean()) if len(pool) else 0.0
    mem = float(e_m.mean()) if len(e_m) else 0.0
    mc = float(np.average(c_m, weights=w)) if len(c_m) else 0.0
    before = (me - mp) / sd if sd > 0 else 0.0
    after = (mem - mc) / sd if sd > 0 else 0.0
    return me, mp, mc, before, after


def _bootstrap(
    e_values: dict[str, np.ndarray],
    c_values: dict[str, np.ndarray],
    shift: dict[str, np.ndarray],
    links: Any,
    pairs: list[tuple[str, str, str, str]],
    people: tuple[np.ndarray, np.ndarray],
    reps: int,
    seed: int,
) -> list[np.ndarray]:
    """Relative effects of ``reps`` bootstrap draws, one array per estimate in ``pairs``.

    Each draw gives every **person** an independent Poisson weight (mean one), shared by all
    their rows: their row in the cohort and every row of theirs in the comparison (a person
    is in the pool in each month they are listed and not yet engaged, and may be engaged
    later), and keeps the matches: a cohort member's comparison value is the weighted mean
    over the draw of their own matched comparisons (a member whose comparisons were all left
    out drops out of that draw). Resampling the cohort's matched sets alone would treat one
    comparison person matched to twenty cohort members as twenty independent people, and
    resampling rows rather than people would treat one person listed in three months as
    three; either interval would be too narrow. ``e_values``: per matched member;
    ``c_values``: per comparison row; ``shift``: the bias correction per member; ``links``:
    the sparse member × comparison match matrix; ``people``: the person index of each
    member and of each comparison row.
    """
    rng = np.random.default_rng(seed)
    e_person, c_person = people
    n_people = int(max(e_person.max(initial=-1), c_person.max(initial=-1))) + 1
    out = [np.empty(reps) for _ in pairs]
    done = 0
    while done < reps:
        k = min(100, reps - done)
        pw = rng.poisson(1.0, size=(n_people, k)).astype(np.float64)
        ew, cw = pw[e_person], pw[c_person]
        den = links @ cw
        ok = den > 0
        ew = np.where(ok, ew, 0.0)
        total = ew.sum(axis=0)
        total[total == 0] = np.nan
        means = {}
        for name, v in e_values.items():
            means[name] = (ew * v[:, None]).sum(axis=0) / total
        for name, v in c_values.items():
            per = (links @ (cw * v[:, None])) / np.where(ok, den, 1.0) + shift[name][:, None]
            means[name] = (ew * per).sum(axis=0) / total
        for p, (eb, ea, cb, ca) in enumerate(pairs):
            safe_cb = np.where(means[cb] > 0, means[cb], 1.0)
            counterfactual = np.where(means[cb] > 0, means[eb] * means[ca] / safe_cb, means[ea])
            safe_cf = np.where(counterfactual > 0, counterfactual, 1.0)
            out[p][done : done + k] = np.where(counterfactual > 0, means[ea] / safe_cf - 1, 0.0)
        done += k
    return [x[np.isfinite(x)] for x in out]


def _measure(
    name: str,
    eb: np.ndarray,
    ea: np.ndarray,
    cb: np.ndarray,
    ca: np.ndarray,
    draws: np.ndarray | None,
) -> tuple[Measure, float | None]:
    """The measure from per-member arrays, and its bootstrap standard error."""
    meb, mea, mcb, mca = (float(a.mean()) for a in (eb, ea, cb, ca))
    counterfactual, did, rel = _estimate(meb, mea, mcb, mca)
    if draws is not None and len(draws) > 1:
        lo, hi = (float(x) for x in np.percentile(draws, [2.5, 97.5]))
        se: float | None = float(draws.std(ddof=1))
    else:
        lo, hi, se = rel, rel, None
    return (
        Measure(
            name=name,
            before_engaged=meb,
            after_engaged=mea,
            before_comparison=mcb,
            after_comparison=mca,
            naive_change=mea / meb - 1 if meb else 0.0,
            comparison_change=mca / mcb - 1 if mcb else 0.0,
            counterfactual=counterfactual,
            did=did,
            relative_effect=rel,
            ci_low=lo,
            ci_high=hi,
        ),
        se,
    )


def _estimate(eb: float, ea: float, cb: float, ca: float) -> tuple[float, float, float]:
    """(counterfactual, did, relative effect) from the four group means."""
    counterfactual = eb * ca / cb if cb > 0 else ea
    did = ea - counterfactual
    return counterfactual, did, (ea / counterfactual - 1 if counterfactual > 0 else 0.0)


@dataclass(frozen=True)
class Balance:
    """One pre-period feature: the cohort's mean against the comparison's, before and after
    matching, as standardised mean differences (difference over the pooled SD before)."""

    feature: str
    engaged: float
    pool: float
    comparison: float
    smd_before: float
    smd_after: float


@dataclass(frozen=True)
class ImpactResult:
    engaged: int
    """Cohort members reviewed: listed in their index month, after-period over, matched."""
    comparison: int
    """Distinct listed-but-not-engaged person-months used as comparisons."""
    unmatched_engaged: int
    not_yet_reviewable: int
    harm: Measure
    victimisations: Measure
    before_months: int
    after_months: int
    reps: int
    strata: list[dict[str, Any]] = field(default_factory=list)
    matched: pl.DataFrame = field(default_factory=lambda: _empty_matched(), compare=False)
    """person_id, month (index), group (``engaged``/``comparison``), weight: who was compared."""
    not_listed: int = 0
    """Cohort members who were not on the victim list in their index month."""
    balance: list[Balance] = field(default_factory=list)
    placebo_harm: Measure = field(default_factory=lambda: _empty_measure("harm"))
    placebo_victimisations: Measure = field(
        default_factory=lambda: _empty_measure("victimisations")
    )
    withheld: list[str] = field(default_factory=list)
    """Plain reasons the verdict is withheld; empty when a verdict is given."""
    mde_harm: float | None = None
    mde_victimisations: float | None = None
    """The smallest relative change this review would detect (80% power, 5% two-sided)."""

    @property
    def cohort(self) -> int:
        """Every cohort member: reviewed + unmatched + not yet reviewable + not listed."""
        return self.engaged + self.unmatched_engaged + self.not_yet_reviewable + self.not_listed

    @property
    def reviewable(self) -> int:
        """Listed in their index month with a complete after-period."""
        return self.engaged + self.unmatched_engaged

    @property
    def matched_share(self) -> float:
        """The share of the reviewable cohort that found a comparison."""
        return self.engaged / self.reviewable if self.reviewable else 0.0

    # The harm measure's figures, for a short read.
    @property
    def before_engaged(self) -> float:
        return self.harm.before_engaged

    @property
    def after_engaged(self) -> float:
        return self.harm.after_engaged

    @property
    def before_comparison(self) -> float:
        return self.harm.before_comparison

    @property
    def after_comparison(self) -> float:
        return self.harm.after_comparison

    @property
    def naive_change(self) -> float:
        return self.harm.naive_change

    @property
    def did(self) -> float:
        return self.harm.did

    @property
    def relative_effect(self) -> float:
        return self.harm.relative_effect

    @property
    def ci_low(self) -> float:
        return self.harm.ci_low

    @property
    def ci_high(self) -> float:
        return self.harm.ci_high

    def counts_text(self) -> str:
        """Who was reviewed and who was not, in one line that reconciles."""
        return (
            f"Of {self.cohort:,} in the cohort: {self.engaged:,} reviewed against "
            f"{self.comparison:,} comparisons ({_pct(self.matched_share)} of the "
            f"{self.reviewable:,} reviewable found one), {self.unmatched_engaged:,} with no "
            f"comparable listed person, {self.not_yet_reviewable:,} whose after-period has not "
            f"ended, {self.not_listed:,} not on the victim list in their index month."
        )

    def power_text(self) -> str:
        """The smallest effect this review could show, in plain words."""
        if self.mde_victimisations is None or self.mde_harm is None:
            return (
                "The review is too small to say how large an effect it could detect."
                if self.engaged
                else ""
            )
        return (
            f"With {self.engaged:,} {'person' if self.engaged == 1 else 'people'} reviewed, "
            f"only a change larger than about "
            f"{_pct(self.mde_victimisations)} in victimisations, or {_pct(self.mde_harm)} in "
            f"harm, would be likely to show (80% power at the 5% level). A smaller effect may "
            f'be real and still not show: "no evidence of an effect" is not "no effect".'
        )

    def explanation(self) -> str:
        if self.cohort == 0:
            return "Nobody is in this cohort (within this scope): nothing to review."
        if self.reviewable == 0:
            if self.not_yet_reviewable:
                return (
                    f"No cohort member's after-period has ended yet ({self.not_yet_reviewable:,} "
                    f"waiting): nothing to review until {self.after_months} months after their "
                    f"list month."
                )
            return (
                "No cohort member was on the victim list in their index month: nothing to review."
            )
        if self.engaged == 0:
            return "No verdict: " + " ".join(self.withheld)
        h, v = self.harm, self.victimisations
        fell = "fell" if h.naive_change <= 0 else "rose"
        comp = "fell" if h.comparison_change <= 0 else "rose"
        story = (
            f"The {self.engaged:,} engaged people's harm {fell} by {_pct(abs(h.naive_change))} "
            f"from the {self.before_months} months up to listing to the {self.after_months} "
            f"months after. But the {self.comparison:,} comparable listed people who were not "
            f"engaged (matched on their month-by-month harm and victimisations before) {comp} "
            f"by {_pct(abs(h.comparison_change))} too, because people are listed at their worst "
            f"(regression to the mean). "
        )
        if self.withheld:
            return story + "No verdict: " + " ".join(self.withheld)
        return (
            story + f"Against them, {h.verdict()} Counting victimisations instead of harm "
            f"(steadier, as one serious crime does not dominate), {v.verdict()}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "engaged": self.engaged,
            "comparison": self.comparison,
            "unmatched_engaged": self.unmatched_engaged,
            "not_yet_reviewable": self.not_yet_reviewable,
            "not_listed": self.not_listed,
            "matched_share": self.matched_share,
            "before_months": self.before_months,
            "after_months": self.after_months,
            "reps": self.reps,
            "harm": self.harm.__dict__.copy(),
            "victimisations": self.victimisations.__dict__.copy(),
            "placebo": {
                "harm": self.placebo_harm.__dict__.copy(),
                "victimisations": self.placebo_victimisations.__dict__.copy(),
            },
            "balance": [b.__dict__.copy() for b in self.balance],
            "verdict_withheld": bool(self.withheld),
            "withheld_reasons": list(self.withheld),
            "minimum_detectable_effect": {
                "harm": self.mde_harm,
                "victimisations": self.mde_victimisations,
            },
            "power": self.power_text(),
            "explanation": self.explanation(),
            "strata": self.strata,
        }

    def table(self) -> pl.DataFrame:
        """Engaged against comparison: people, before, after and change for each measure."""
        rows = []
        for m in (self.harm, self.victimisations):
            for group, n, before, after in (
                ("engaged", self.engaged, m.before_engaged, m.after_engaged),
                ("comparison", self.comparison, m.before_comparison, m.after_comparison),
            ):
                rows.append(
                    {
                        "measure": m.name,
                        "group": group,
                        "people": n,
                        "before": before,
                        "after": after,
                        "change": after / before - 1 if before else 0.0,
                    }
                )
        return pl.DataFrame(
            rows,
            schema={
                "measure": pl.String,
                "group": pl.String,
                "people": pl.Int64,
                "before": pl.Float64,
                "after": pl.Float64,
                "change": pl.Float64,
            },
        )

    def balance_table(self) -> pl.DataFrame:
        """feature, engaged, pool, comparison, smd_before, smd_after (one row per feature)."""
        return pl.DataFrame(
            [b.__dict__ for b in self.balance],
            schema={
                "feature": pl.String,
                "engaged": pl.Float64,
                "pool": pl.Float64,
                "comparison": pl.Float64,
                "smd_before": pl.Float64,
                "smd_after": pl.Float64,
            },
        )


def _empty_matched() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "person_id": pl.String,
            "month": pl.String,
            "group": pl.String,
            "weight": pl.Float64,
        }
    )


@dataclass(frozen=True)
class _Cohort:
    """Who is reviewed and against whom (list rows with what matching uses)."""

    rows: pl.DataFrame
    """The reviewable cohort: on the list in their index month, after-period over."""
    pool: pl.DataFrame
    """Listed people not engaged by their list month, in the cohort's exact groups, within
    MONTH_WINDOW months of a cohort member's list month, with a complete after-period."""
    not_listed: int
    pending: int


def _cohort(
    victim_list: pl.DataFrame, engaged: pl.DataFrame, areas: pl.DataFrame, last: int, after: int
) -> _Cohort:
    """The cohort's list rows, the comparison pool, and the cohort members not reviewed."""
    listed = _listed(victim_list, areas)
    eng = (
        engaged.select(
            pl.col("person_id").cast(pl.String),
            pl.col("index_month").cast(pl.String).alias("month"),
        )
        .unique()
        .sort("month", "person_id")
    )
    on_list = eng.join(listed, on=["person_id", "month"], how="inner")
    complete = _month_number(pl.col("month")) + after <= last
    rows = on_list.filter(complete).sort([*EXACT, "person_id"])
    first = eng.group_by("person_id").agg(pl.col("month").min().alias("first_engaged"))
    at = _month_number(pl.col("month"))
    lo = rows.select(at.min()).item() if rows.height else 0
    hi = rows.select(at.max()).item() if rows.height else -1
    pool = (
        listed.join(rows.select(STRATA).unique(), on=STRATA, how="semi")
        .filter(complete & at.is_between(lo - MONTH_WINDOW, hi + MONTH_WINDOW))
        .join(first, on="person_id", how="left")
        .filter(pl.col("first_engaged").is_null() | (pl.col("first_engaged") > pl.col("month")))
        .drop("first_engaged")
        .sort([*STRATA, "month", "person_id"])
    )
    return _Cohort(rows, pool, eng.height - on_list.height, on_list.filter(~complete).height)


def _group_ids(cohort: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """The exact group (``STRATA``) of each cohort row and each pool row, as integers."""
    gid = cohort.rows.select(STRATA).unique(maintain_order=True).with_row_index("gid")

    def ids(rows: pl.DataFrame) -> np.ndarray:
        return rows.join(gid, on=STRATA, how="left")["gid"].to_numpy().astype(np.int64)

    return ids(cohort.rows), ids(cohort.pool)


def _links(matches: list[np.ndarray], weights: list[np.ndarray], rows: np.ndarray, n_c: int) -> Any:
    """The sparse matched-member × comparison-row matrix of match weights."""
    if len(rows) == 0:
        return sparse.csr_matrix((0, n_c))
    return sparse.csr_matrix(
        (
            np.concatenate([weights[i] for i in rows]),
            (
                np.repeat(np.arange(len(rows)), [len(matches[i]) for i in rows]),
                np.concatenate([matches[i] for i in rows]),
            ),
        ),
        shape=(len(rows), n_c),
    )


def _balance(
    e: _Side, c: _Side, ok: np.ndarray, used: np.ndarray, c_weight: np.ndarray, before: int
) -> list[Balance]:
    """The balance table: each feature's means and standardised differences, before and
    after matching."""
    if e.rows.is_empty():
        return []
    return [
        Balance(name, *_smd(e.raw[:, f], c.raw[:, f], e.raw[ok, f], c.raw[used, f], c_weight[used]))
        for f, name in enumerate(_feature_names(before))
    ]


def _periods(before: int, after: int) -> dict[str, slice]:
    """The columns of a path (months ``-before - after + 1`` to ``after``) in each period:
    before (ending with the list month), after, and early (the placebo's months)."""
    return {
        "before": slice(after, after + before),
        "after": slice(after + before, after + before + after),
        "early": slice(0, after),
    }


@dataclass(frozen=True)
class _Outcomes:
    """Per matched member, the own and comparison sums of each measure and period."""

    arrays: dict[str, np.ndarray]
    """``e_<measure>_<period>`` and ``c_<measure>_<period>`` (bias-corrected mean of the
    member's comparisons), one value per matched member."""
    e_values: dict[str, np.ndarray]
    c_values: dict[str, np.ndarray]
    """Per comparison row, uncorrected."""
    shifts: dict[str, np.ndarray]
    """The bias correction per matched member."""


def _outcomes(
    e: _Side,
    c: _Side,
    rows: np.ndarray,
    links: Any,
    used: np.ndarray,
    periods: dict[str, slice],
    bias_correction: bool,
) -> _Outcomes:
    set_size = np.asarray(links.sum(axis=1)).ravel()
    arrays: dict[str, np.ndarray] = {}
    e_values: dict[str, np.ndarray] = {}
    c_values: dict[str, np.ndarray] = {}
    shifts: dict[str, np.ndarray] = {}
    gap = _design(e)[rows] - (links @ _design(c)) / set_size[:, None]
    for measure, e_path, c_path in (
        ("harm", e.harm, c.harm),
        ("victimisations", e.victimisations, c.victimisations),
    ):
        c_out = np.stack([c_path[:, s].sum(axis=1) for s in periods.values()], axis=1)
        beta = _bias_fit(c, used, c_out) if bias_correction else None
        for p, (period, s_) in enumerate(periods.items()):
            name = f"{measure}_{period}"
            e_values[f"e_{name}"] = e_path[rows, s_].sum(axis=1)
            c_values[f"c_{name}"] = c_out[:, p]
            shifts[f"c_{name}"] = gap @ beta[:, p] if beta is not None else np.zeros(len(rows))
            arrays[f"e_{name}"] = e_values[f"e_{name}"]
            arrays[f"c_{name}"] = (links @ c_out[:, p]) / set_size + shifts[f"c_{name}"]
    return _Outcomes(arrays, e_values, c_values, shifts)


def _people(e_rows: pl.DataFrame, c_rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A person index for each matched member and each comparison row (the bootstrap's
    clusters): the same person has the same index in both."""
    ids = np.r_[e_rows["person_id"].to_numpy(), c_rows["person_id"].to_numpy()].astype(str)
    _, index = np.unique(ids, return_inverse=True)
    return index[: e_rows.height].astype(np.int64), index[e_rows.height :].astype(np.int64)


def impact_review(
    victim_list: pl.DataFrame,
    victimisations: pl.DataFrame,
    engaged: pl.DataFrame,
    areas: pl.DataFrame,
    last_month: str,
    before_months: int = 6,
    after_months: int = 6,
    reps: int = 1000,
    seed: int = 1,
    bias_correction: bool = True,
) -> ImpactResult:
    """The cohort against matched listed-but-not-engaged people; see the module docstring.

    ``victim_list``: the run's list (month, person_id, neighbourhood_code, harm_days,
    da_crimes and, when present, crimes, status and reasons); ``victimisations``: the run's
    victimisations (person_id, month, weight, counted); ``engaged``: person_id and
    ``index_month``; ``areas``: neighbourhood_code → area; ``last_month``: the last month
    with data (after-periods must end by then).
    """
    b, a = before_months, after_months
    end = parse_month(last_month)
    cohort = _cohort(victim_list, engaged, areas, end.year * 12 + end.month - 1, a)
    monthly = monthly_harm(victimisations)
    e, c = _side(cohort.rows, monthly, b, a), _side(cohort.pool, monthly, b, a)
    e_gid, c_gid = _group_ids(cohort)
    matches, match_weights = _match(e, c, e_gid, c_gid)
    ok = np.array([len(m) > 0 for m in matches], dtype=bool)
    c_weight = np.zeros(c.rows.height)
    for m, w in zip(matches, match_weights, strict=True):
        if len(m):
            np.add.at(c_weight, m, w / w.sum())
    used = np.flatnonzero(c_weight > 0)
    base = ImpactResult(
        engaged=0,
        comparison=0,
        unmatched_engaged=int((~ok).sum()),
        not_yet_reviewable=cohort.pending,
        harm=_empty_measure("harm"),
        victimisations=_empty_measure("victimisations"),
        before_months=b,
        after_months=a,
        reps=reps,
        strata=_strata(cohort.rows, matches, ok),
        not_listed=cohort.not_listed,
        balance=_balance(e, c, ok, used, c_weight, b),
    )
    if not ok.any():
        withheld = (
            [
                "Nobody in the cohort had a comparable listed person who was not engaged "
                f"({comparison_months()}, with the same area, listing status and domestic "
                "abuse, and a similar path of harm before): there is nothing to compare with."
            ]
            if cohort.rows.height
            else []
        )
        return replace(base, withheld=withheld)

    rows = np.flatnonzero(ok)
    links = _links(matches, match_weights, rows, c.rows.height)
    out = _outcomes(e, c, rows, links, used, _periods(b, a), bias_correction)
    pairs = [
        (f"e_{m}_{x}", f"e_{m}_{y}", f"c_{m}_{x}", f"c_{m}_{y}")
        for m in MEASURES
        for x, y in (("before", "after"), ("before", "early"))
    ]
    people = _people(cohort.rows[rows.tolist()], c.rows)
    draws: list[np.ndarray | None] = (
        list(_bootstrap(out.e_values, out.c_values, out.shifts, links, pairs, people, reps, seed))
        if reps > 1
        else [None] * len(pairs)
    )
    arrays = out.arrays
    (harm, se_h), (placebo_h, _), (vict, se_v), (placebo_v, _) = (
        _measure(eb.split("_")[1], arrays[eb], arrays[ea], arrays[cb], arrays[ca], d)
        for (eb, ea, cb, ca), d in zip(pairs, draws, strict=True)
    )
    result = replace(
        base,
        engaged=len(rows),
        comparison=len(used),
        harm=harm,
        victimisations=vict,
        matched=_who(cohort, ok, used, c_weight),
        placebo_harm=placebo_h,
        placebo_victimisations=placebo_v,
        mde_harm=POWER_Z * se_h if se_h is not None else None,
        mde_victimisations=POWER_Z * se_v if se_v is not None else None,
    )
    return replace(result, withheld=_withheld(result))


def run_review(
    run: Run,
    victim_list: pl.DataFrame,
    victimisations: pl.DataFrame,
    engaged: pl.DataFrame,
    before_months: int = 6,
    after_months: int = 6,
    reps: int = 1000,
    seed: int = 1,
) -> ImpactResult:
    """The review of ``run``'s last list month (as the app's Impact page and ``chi impact``
    show it): ``impact_review`` of the run's lists and victimisations (or a scope's part of
    them), with the areas of the force's geography."""
    from chi.reading.lists import neighbourhoods

    return impact_review(
        victim_list,
        victimisations,
        engaged,
        neighbourhoods().select("neighbourhood_code", "area"),
        run.manifest.months[-1],
        before_months=before_months,
        after_months=after_months,
        reps=reps,
        seed=seed,
    )


def _who(cohort: _Cohort, ok: np.ndarray, used: np.ndarray, c_weight: np.ndarray) -> pl.DataFrame:
    """person_id, month, group and weight of everyone compared."""
    who: pl.DataFrame = pl.concat(
        [
            cohort.rows.filter(pl.Series(ok)).select(
                "person_id", "month", pl.lit("engaged").alias("group"), pl.lit(1.0).alias("weight")
            ),
            cohort.pool[used.tolist()].select(
                "person_id",
                "month",
                pl.lit("comparison").alias("group"),
                pl.Series("weight", c_weight[used]),
            ),
        ]
    )
    return who


def _strata(rows: pl.DataFrame, matches: list[np.ndarray], ok: np.ndarray) -> list[dict[str, Any]]:
    """Per stratum (list month and the exact keys): cohort members reviewable, matched, and
    the distinct comparison rows their matches used."""
    if rows.is_empty():
        return []
    sid = rows.select(EXACT).unique(maintain_order=True).with_row_index("sid")
    e_sid = rows.join(sid, on=EXACT, how="left")["sid"].to_numpy().astype(np.int64)
    n = sid.height
    used = [
        len(np.unique(np.concatenate([matches[i] for i in np.flatnonzero(e_sid == s)])))
        for s in range(n)
    ]
    return (
        sid.with_columns(
            pl.Series("engaged", np.bincount(e_sid, minlength=n)),
            pl.Series("matched", np.bincount(e_sid, weights=ok.astype(float), minlength=n)).cast(
                pl.Int64
            ),
            pl.Series("comparison", used, dtype=pl.Int64),
        )
        .drop("sid")
        .sort(EXACT)
        .with_columns(
            pl.col("da").cast(pl.String), *(pl.col(r).cast(pl.Boolean) for r in EXACT[4:])
        )
        .to_dicts()
    )


def _withheld(r: ImpactResult) -> list[str]:
    """Plain reasons the data cannot support a verdict (empty: a verdict can be given)."""
    reasons = []
    if r.engaged < MIN_MATCHED:
        reasons.append(
            f"Only {r.engaged:,} cohort member{'s' if r.engaged != 1 else ''} found a "
            f"comparison: too few for a verdict (at least {MIN_MATCHED} are needed)."
        )
    if r.matched_share < MIN_SHARE:
        reasons.append(
            f"Only {_pct(r.matched_share)} of the reviewable cohort ({r.engaged:,} of "
            f"{r.reviewable:,}) found a comparable listed person who was not engaged: the "
            f"cohort is unlike the people the meeting passed over, so an estimate would "
            f"describe a minority of it."
        )
    off = [b.feature for b in r.balance if abs(b.smd_after) > SMD_LIMIT]
    if off:
        reasons.append(
            "After matching, the cohort and its comparison still differ before the action on "
            + ", ".join(off)
            + f" (standardised difference above {SMD_LIMIT}): the comparison is not like "
            "the cohort."
        )
    pv = r.placebo_victimisations
    if r.reps > 1 and not pv.covers_zero:
        reasons.append(
            f"The placebo check failed: in the {r.after_months} months before the "
            f"before-period, when nobody had yet been engaged, the cohort's victimisations "
            f"already differed from its comparison's by {signed_percent(pv.relative_effect)} "
            f"({signed_percent(pv.ci_low)} to {signed_percent(pv.ci_high)}), so the "
            f"comparison does not show what would have happened without the action."
        )
    return reasons


def review_sections(result: ImpactResult) -> tuple[str, list[tuple[str, pl.DataFrame]]]:
    """The impact pack: its opening text (who was reviewed, the verdict or why it is
    withheld, the explanation, the smallest detectable effect) and its tables."""
    intro = " ".join(
        x
        for x in (
            result.counts_text(),
            ("No verdict: " + " ".join(result.withheld)) if result.withheld else "",
            result.explanation(),
            result.power_text(),
        )
        if x
    )
    estimates = pl.DataFrame(
        [
            {
                "measure": m.name,
                "naive before/after": signed_percent(m.naive_change),
                "comparison's change": signed_percent(m.comparison_change),
                "estimate": signed_percent(m.relative_effect),
                "95% interval": f"{signed_percent(m.ci_low)} to {signed_percent(m.ci_high)}",
                "placebo": f"{signed_percent(p.relative_effect)} ({signed_percent(p.ci_low)} "
                f"to {signed_percent(p.ci_high)})",
                "smallest detectable change": _pct(mde) if mde is not None else "-",
            }
            for m, p, mde in (
                (result.harm, result.placebo_harm, result.mde_harm),
                (result.victimisations, result.placebo_victimisations, result.mde_victimisations),
            )
        ]
    )
    table = result.table().with_columns(
        pl.col("before").round(2), pl.col("after").round(2), pl.col("change").round(3)
    )
    balance = result.balance_table().with_columns(pl.exclude("feature").round(3))
    return intro, [("Before and after", table), ("Estimates", estimates), ("Balance", balance)]


def review_pdf(result: ImpactResult, meta: ExportMeta) -> bytes:
    """The impact pack as a printable PDF (marking, run details, text, tables)."""
    intro, sections = review_sections(result)
    return export(Document(sections=tuple(sections), intro=intro), meta, "pdf")


def scoped_inputs(run: Run, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(victim list, victimisations) for an impact review within ``scope``: the list rows in
    the scope's neighbourhoods, and the victimisations of the people on them, read through
    the run's locked-down connection with the scope in the SQL."""
    with run_connection(run) as con:
        lists: pl.DataFrame = sql.run(con, "read/impact_list", scope.params).pl()
        victimisations: pl.DataFrame = sql.run(con, "read/impact_victimisations", scope.params).pl()
    return lists, victimisations
