"""Did engagement reduce harm? Cohort tracking and an impact review that survives scrutiny.

People are listed in the month their harm peaks, so their harm falls afterwards whatever
anyone does (regression to the mean): a before/after comparison of engaged people always
looks like success. The honest estimate compares the engaged with **listed people who were
not engaged**, listed in the same month, in the same area, in the same band of harm at
listing and with the same domestic abuse status, who regress to the mean just as much.

- Each engaged person has an index month (the list month of the meeting that engaged them).
  Harm *before* is the harm in the ``before_months`` months ending with the index month; harm
  *after* is the harm in the ``after_months`` months after it. Only people whose after-period
  has ended by the run's last month are reviewed.
- The comparison pool is everyone on the victim list in the same month who was never engaged.
  Strata: list month × area × harm band at listing × domestic abuse. Each comparison person is
  weighted ``engaged_in_stratum / comparison_in_stratum`` (exact matching, weighted to the
  engaged); engaged people in a stratum without comparisons are reported as unmatched and
  left out of the estimate.
- Difference in differences: the engaged group's mean change minus the weighted comparison
  group's mean change. Relative effect: that difference over the engaged group's
  counterfactual after-period harm (their after-period harm minus the difference), so −0.30
  means engagement took 30% off the harm they would otherwise have suffered.
- The 95% interval is a percentile bootstrap that resamples people within each group and
  stratum (``reps`` draws, fixed seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from chi.score import add_months, month_label, parse_month

HARM_BANDS = (0, 365, 1000, 1825)
"""Lower edges (days) of the harm-at-listing bands used for matching."""


def _band(col: str) -> pl.Expr:
    expr = pl.lit(0)
    for i, edge in enumerate(HARM_BANDS[1:], start=1):
        expr = pl.when(pl.col(col) >= edge).then(pl.lit(i)).otherwise(expr)
    return expr


def monthly_harm(victimisations: pl.DataFrame) -> pl.DataFrame:
    """Counted harm and victimisations per person and month (``YYYY-MM``)."""
    return (
        victimisations.filter(pl.col("counted"))
        .group_by("person_id", "month")
        .agg(
            pl.col("weight").cast(pl.Float64).fill_null(0).sum().alias("harm"),
            pl.len().alias("victimisations"),
        )
    )


def cohort_tracking(
    victimisations: pl.DataFrame, cohort: pl.DataFrame, span: int = 12
) -> pl.DataFrame:
    """Mean harm and victimisations per person by month relative to the start (−span..+span).

    ``cohort`` has ``person_id`` and ``start_month`` (``YYYY-MM``, month 0).
    """
    per_month = monthly_harm(victimisations)
    rel = pl.DataFrame({"relative_month": list(range(-span, span + 1))})
    people = cohort.select("person_id", "start_month").unique()
    grid = people.join(rel, how="cross").with_columns(
        pl.struct("start_month", "relative_month")
        .map_elements(
            lambda s: month_label(add_months(parse_month(s["start_month"]), s["relative_month"])),
            return_dtype=pl.String,
        )
        .alias("month")
    )
    joined = grid.join(per_month, on=["person_id", "month"], how="left").fill_null(0)
    n = people.height
    return (
        joined.group_by("relative_month")
        .agg(
            (pl.col("harm").sum() / max(n, 1)).alias("harm_per_person"),
            (pl.col("victimisations").sum() / max(n, 1)).alias("victimisations_per_person"),
        )
        .with_columns(pl.lit(n).alias("people"))
        .sort("relative_month")
    )


def _pct(x: float) -> str:
    """A share as a whole percentage, halves rounded up (robust to float noise)."""
    return f"{math.floor(100 * x + 0.5 + 1e-9):d}%"


@dataclass(frozen=True)
class ImpactResult:
    engaged: int
    comparison: int
    unmatched_engaged: int
    not_yet_reviewable: int
    before_engaged: float
    after_engaged: float
    before_comparison: float
    after_comparison: float
    naive_change: float
    """Engaged after/before − 1: what a before/after review would report."""
    did: float
    """Difference in differences in harm days per person (negative = harm reduced)."""
    relative_effect: float
    ci_low: float
    ci_high: float
    before_months: int
    after_months: int
    reps: int
    strata: list[dict[str, Any]] = field(default_factory=list)

    def explanation(self) -> str:
        if self.engaged == 0:
            return "No engaged person has a complete after-period yet: nothing to review."
        naive = _pct(-self.naive_change)
        rel = _pct(-self.relative_effect)
        lo, hi = _pct(-self.ci_high), _pct(-self.ci_low)
        covers_zero = self.ci_low <= 0 <= self.ci_high
        comp_fall = (
            1 - self.after_comparison / self.before_comparison if self.before_comparison else 0.0
        )
        verdict = (
            "the interval includes zero: this review cannot tell engagement's effect from chance."
            if covers_zero
            else f"engagement reduced harm by about {rel} (95% interval {lo} to {hi})."
        )
        return (
            f"The {self.engaged} engaged people's harm fell by {naive} from the "
            f"{self.before_months} months up to listing to the {self.after_months} months after. "
            f"But the {self.comparison} comparable listed people who were not engaged fell by "
            f"{_pct(comp_fall)} too, because people are listed at their worst "
            f"(regression to the mean). Against them, {verdict}"
        )

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "strata"}
        out["strata"] = self.strata
        out["explanation"] = self.explanation()
        return out


def _periods(lists: pl.DataFrame, monthly: pl.DataFrame, before: int, after: int) -> pl.DataFrame:
    """Harm before (``before`` months ending with the list month) and after, per row."""
    rows = lists.select("person_id", "month").unique()
    offsets = pl.DataFrame({"offset": list(range(-before + 1, after + 1))})
    grid = rows.join(offsets, how="cross").with_columns(
        pl.struct("month", "offset")
        .map_elements(
            lambda s: month_label(add_months(parse_month(s["month"]), s["offset"])),
            return_dtype=pl.String,
        )
        .alias("at")
    )
    joined = grid.join(
        monthly.rename({"month": "at"}), on=["person_id", "at"], how="left"
    ).with_columns(pl.col("harm").fill_null(0))
    return joined.group_by("person_id", "month").agg(
        pl.col("harm").filter(pl.col("offset") <= 0).sum().alias("before"),
        pl.col("harm").filter(pl.col("offset") > 0).sum().alias("after"),
    )


def _strata_rows(frame: pl.DataFrame, key: list[str]) -> list[list[int]]:
    """Row positions of each stratum, in a fixed order (for a reproducible bootstrap)."""
    grouped = frame.with_row_index("i").group_by(key).agg(pl.col("i").sort()).sort(key)
    return [list(x) for x in grouped["i"].to_list()]


def _did(
    e_change: np.ndarray, c_change: np.ndarray, c_weight: np.ndarray, e_after: np.ndarray
) -> tuple[float, float]:
    did = float(e_change.mean() - np.average(c_change, weights=c_weight))
    counterfactual = float(e_after.mean()) - did
    return did, (did / counterfactual if counterfactual > 0 else 0.0)


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
) -> ImpactResult:
    """Engaged versus matched listed-but-not-engaged people; see the module docstring.

    ``victim_list``: the run's list (month, person_id, neighbourhood_code, harm_days,
    da_crimes); ``victimisations``: the run's victimisations (person_id, month, weight,
    counted); ``engaged``: person_id and ``index_month``; ``areas``: neighbourhood_code → area;
    ``last_month``: the last month with data (after-periods must end by then).
    """
    last = parse_month(last_month)
    listed = victim_list.join(areas, on="neighbourhood_code", how="left").with_columns(
        pl.col("area").fill_null("unknown"),
        _band("harm_days").alias("band"),
        (pl.col("da_crimes") > 0).alias("da"),
    )
    reviewable = pl.col("month").map_elements(
        lambda m: add_months(parse_month(m), after_months) <= last, return_dtype=pl.Boolean
    )
    eng = engaged.select("person_id", pl.col("index_month").alias("month")).unique()
    ever = set(eng["person_id"].to_list())
    eng_rows = eng.join(listed, on=["person_id", "month"], how="inner")
    pending = eng_rows.filter(~reviewable).height
    eng_rows = eng_rows.filter(reviewable)
    comp_rows = listed.filter(
        pl.col("month").is_in(eng_rows["month"].unique().to_list())
        & ~pl.col("person_id").is_in(list(ever))
    )
    key = ["month", "area", "band", "da"]
    e_n = eng_rows.group_by(key).len("e")
    c_n = comp_rows.group_by(key).len("c")
    matched = e_n.join(c_n, on=key, how="inner")
    unmatched = int(e_n["e"].sum() or 0) - int(matched["e"].sum() or 0)
    monthly = monthly_harm(victimisations)
    eng_m = (
        eng_rows.join(matched.select(key), on=key)
        .join(_periods(eng_rows, monthly, before_months, after_months), on=["person_id", "month"])
        .sort([*key, "person_id"])
    )
    comp_m = (
        comp_rows.join(matched, on=key)
        .with_columns((pl.col("e") / pl.col("c")).alias("weight_"))
        .join(_periods(comp_rows, monthly, before_months, after_months), on=["person_id", "month"])
        .sort([*key, "person_id"])
    )
    if eng_m.is_empty():
        return ImpactResult(
            0, 0, unmatched, pending, 0, 0, 0, 0, 0, 0, 0, 0, 0, before_months, after_months, reps
        )
    e_b, e_a = eng_m["before"].to_numpy(), eng_m["after"].to_numpy()
    c_b, c_a = comp_m["before"].to_numpy(), comp_m["after"].to_numpy()
    c_w = comp_m["weight_"].to_numpy()
    did, rel = _did(e_a - e_b, c_a - c_b, c_w, e_a)

    rng = np.random.default_rng(seed)
    e_strata = (
        eng_m.with_row_index("i").group_by(key).agg(pl.col("i").sort()).sort(key)["i"].to_list()
    )
    c_strata = (
        comp_m.with_row_index("i").group_by(key).agg(pl.col("i").sort()).sort(key)["i"].to_list()
    )
    rels = np.empty(reps)
    for r in range(reps):
        ei = np.concatenate([rng.choice(s, size=len(s)) for s in e_strata])
        ci = np.concatenate([rng.choice(s, size=len(s)) for s in c_strata])
        rels[r] = _did(e_a[ei] - e_b[ei], c_a[ci] - c_b[ci], c_w[ci], e_a[ei])[1]
    lo, hi = np.percentile(rels, [2.5, 97.5]) if reps else (rel, rel)
    strata = (
        matched.sort(key)
        .with_columns(pl.col("da").cast(pl.String))
        .rename({"e": "engaged", "c": "comparison"})
        .to_dicts()
    )
    return ImpactResult(
        engaged=eng_m.height,
        comparison=comp_m.height,
        unmatched_engaged=unmatched,
        not_yet_reviewable=pending,
        before_engaged=float(e_b.mean()),
        after_engaged=float(e_a.mean()),
        before_comparison=float(np.average(c_b, weights=c_w)),
        after_comparison=float(np.average(c_a, weights=c_w)),
        naive_change=float(e_a.mean() / e_b.mean() - 1) if e_b.mean() else 0.0,
        did=did,
        relative_effect=rel,
        ci_low=float(lo),
        ci_high=float(hi),
        before_months=before_months,
        after_months=after_months,
        reps=reps,
        strata=strata,
    )
