"""Did engagement reduce harm? Cohort tracking and an impact review that survives scrutiny.

People are listed in the month their harm peaks, so their harm falls afterwards whatever
anyone does (regression to the mean): a before/after comparison of engaged people always
looks like success. The honest estimate compares the engaged with **listed people who were
not engaged**, listed in the same month, in the same area, in the same band of harm at
listing, with the same domestic abuse status and both new to the list (or both continuing),
who regress to the mean just as much.

- Each engaged person has an index month (the list month of the meeting that engaged them).
  *Before* is the ``before_months`` months ending with the index month; *after* is the
  ``after_months`` months after it. Only people whose after-period has ended by the run's
  last month are reviewed; the others are counted as not yet reviewable.
- The comparison pool is everyone on the victim list in the same month who had not been
  engaged by then (people engaged later stay in the pool: choosing comparisons by what
  happened to them afterwards would bias the review). Strata: list month × area × harm band
  at listing × domestic abuse × new or continuing. Each comparison person is weighted
  ``engaged_in_stratum / comparison_in_stratum`` (exact matching, weighted to the engaged);
  engaged people in a stratum without comparisons are reported as unmatched and left out.
- Difference in differences on the proportional scale: had engagement done nothing, the
  engaged group's after-period mean would have been its before-period mean changed by the
  same proportion as the weighted comparison group's (the counterfactual). The relative
  effect is the engaged group's after-period mean over that counterfactual, minus one, so
  −0.30 means engagement took 30% off the harm they would otherwise have suffered; ``did``
  is the same difference in harm days per person. Harm falls in proportion to where it
  started (a person listed at 2,000 days falls further than one at 400), so parallel trends
  are assumed in proportions, not in days.
- Harm and victimisations are both measured. Harm is what chi ranks by, but it is heavy
  tailed (one homicide outweighs hundreds of thefts), so its estimate is much less precise;
  victimisations answer the same question with a tighter interval.
- The 95% intervals are percentile bootstraps of the whole review: each draw resamples
  both groups with replacement and matches them again (``reps`` draws, fixed seed, so they
  are reproducible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from chi.lists import Scope, run_connection
from chi.runs import Run
from chi.score import parse_month

HARM_BANDS = (0, 365, 1000, 1825)
"""Lower edges (days) of the harm-at-listing bands used for matching."""
MEASURES = ("harm", "victimisations")
STRATA = ["month", "area", "band", "da", "status"]


def _band(col: str) -> pl.Expr:
    expr = pl.lit(0)
    for i, edge in enumerate(HARM_BANDS[1:], start=1):
        expr = pl.when(pl.col(col) >= edge).then(pl.lit(i)).otherwise(expr)
    return expr


def _month_number(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` as a count of months, so that month arithmetic is integer arithmetic."""
    return expr.str.slice(0, 4).cast(pl.Int32) * 12 + expr.str.slice(5, 2).cast(pl.Int32) - 1


def _month_text(expr: pl.Expr) -> pl.Expr:
    year = (expr // 12).cast(pl.String).str.zfill(4)
    month = (expr % 12 + 1).cast(pl.String).str.zfill(2)
    return pl.concat_str(year, pl.lit("-"), month)


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


@dataclass(frozen=True)
class ImpactResult:
    engaged: int
    comparison: int
    unmatched_engaged: int
    not_yet_reviewable: int
    harm: Measure
    victimisations: Measure
    before_months: int
    after_months: int
    reps: int
    strata: list[dict[str, Any]] = field(default_factory=list)
    matched: pl.DataFrame = field(default_factory=pl.DataFrame, compare=False, repr=False)
    """person_id, month (index), group (``engaged``/``comparison``), weight: who was compared."""

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

    def explanation(self) -> str:
        if self.engaged == 0:
            return "No engaged person has a complete after-period yet: nothing to review."
        h, v = self.harm, self.victimisations
        fell = "fell" if h.naive_change <= 0 else "rose"
        comp = "fell" if h.comparison_change <= 0 else "rose"
        return (
            f"The {self.engaged:,} engaged people's harm {fell} by {_pct(abs(h.naive_change))} "
            f"from the {self.before_months} months up to listing to the {self.after_months} "
            f"months after. But the {self.comparison:,} comparable listed people who were not "
            f"engaged {comp} by {_pct(abs(h.comparison_change))} too, because people are "
            f"listed at their worst (regression to the mean). Against them, {h.verdict()} "
            f"Counting victimisations instead of harm (steadier, as one serious crime does "
            f"not dominate), {v.verdict()}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "engaged": self.engaged,
            "comparison": self.comparison,
            "unmatched_engaged": self.unmatched_engaged,
            "not_yet_reviewable": self.not_yet_reviewable,
            "before_months": self.before_months,
            "after_months": self.after_months,
            "reps": self.reps,
            "harm": self.harm.__dict__.copy(),
            "victimisations": self.victimisations.__dict__.copy(),
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
        return pl.DataFrame(rows)


def _periods(rows: pl.DataFrame, monthly: pl.DataFrame, before: int, after: int) -> pl.DataFrame:
    """Harm and victimisations before (``before`` months ending with the list month) and
    after (the ``after`` months following it), per (person_id, month) row."""
    keys = rows.select("person_id", "month").unique()
    offsets = pl.DataFrame({"offset": list(range(-before + 1, after + 1))})
    grid = keys.join(offsets, how="cross").with_columns(
        (_month_number(pl.col("month")) + pl.col("offset")).alias("at")
    )
    per_month = monthly.select(
        "person_id", _month_number(pl.col("month")).alias("at"), "harm", "victimisations"
    )
    joined = grid.join(per_month, on=["person_id", "at"], how="left").fill_null(0)
    is_before, is_after = pl.col("offset") <= 0, pl.col("offset") > 0
    return joined.group_by("person_id", "month").agg(
        pl.col("harm").filter(is_before).sum().alias("harm_before"),
        pl.col("harm").filter(is_after).sum().alias("harm_after"),
        pl.col("victimisations").filter(is_before).sum().alias("victimisations_before"),
        pl.col("victimisations").filter(is_after).sum().alias("victimisations_after"),
    )


def _estimate(eb: float, ea: float, cb: float, ca: float) -> tuple[float, float, float]:
    """(counterfactual, did, relative effect) from the four group means."""
    counterfactual = eb * ca / cb if cb > 0 else ea
    did = ea - counterfactual
    return counterfactual, did, (ea / counterfactual - 1 if counterfactual > 0 else 0.0)


def _bootstrap(
    e: dict[str, tuple[np.ndarray, np.ndarray]],
    c: dict[str, tuple[np.ndarray, np.ndarray]],
    e_sid: np.ndarray,
    c_sid: np.ndarray,
    reps: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Relative effects of ``reps`` bootstrap draws of the whole review, per measure.

    Each draw resamples each group's rows with replacement and matches again: strata are
    counted afresh, the comparison re-weighted, and a stratum left with one side only drops
    out. Resampling within strata instead would give a stratum of one engaged person no
    variance at all and the interval would be too narrow. ``e`` and ``c`` map a measure to
    its (before, after) arrays; ``e_sid`` and ``c_sid`` are the rows' stratum numbers.
    """
    rng = np.random.default_rng(seed)
    n = int(max(e_sid.max(initial=0), c_sid.max(initial=0))) + 1
    out = {name: np.empty(reps) for name in e}
    for r in range(reps):
        i = rng.integers(0, len(e_sid), len(e_sid))
        j = rng.integers(0, len(c_sid), len(c_sid))
        e_cnt = np.bincount(e_sid[i], minlength=n)
        c_cnt = np.bincount(c_sid[j], minlength=n)
        both = (e_cnt > 0) & (c_cnt > 0)
        i, j = i[both[e_sid[i]]], j[both[c_sid[j]]]
        w = e_cnt[c_sid[j]] / c_cnt[c_sid[j]]
        for name, (e_b, e_a) in e.items():
            c_b, c_a = c[name]
            out[name][r] = _estimate(
                float(e_b[i].mean()),
                float(e_a[i].mean()),
                float(np.average(c_b[j], weights=w)),
                float(np.average(c_a[j], weights=w)),
            )[2]
    return out


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
    da_crimes and, when present, status); ``victimisations``: the run's victimisations
    (person_id, month, weight, counted); ``engaged``: person_id and ``index_month``;
    ``areas``: neighbourhood_code → area; ``last_month``: the last month with data
    (after-periods must end by then).
    """
    end = parse_month(last_month)
    last = end.year * 12 + end.month - 1
    listed = victim_list.join(areas, on="neighbourhood_code", how="left").with_columns(
        pl.col("area").fill_null("unknown"),
        _band("harm_days").alias("band"),
        (pl.col("da_crimes") > 0).alias("da"),
        (pl.col("status") if "status" in victim_list.columns else pl.lit("new")).alias("status"),
    )
    reviewable = _month_number(pl.col("month")) + after_months <= last
    eng = engaged.select("person_id", pl.col("index_month").alias("month")).unique()
    first = eng.group_by("person_id").agg(pl.col("month").min().alias("first_engaged"))
    eng_rows = eng.join(listed, on=["person_id", "month"], how="inner")
    pending = eng_rows.filter(~reviewable).height
    eng_rows = eng_rows.filter(reviewable)
    comp_rows = (
        listed.filter(pl.col("month").is_in(eng_rows["month"].unique().implode()))
        .join(first, on="person_id", how="left")
        .filter(pl.col("first_engaged").is_null() | (pl.col("first_engaged") > pl.col("month")))
        .drop("first_engaged")
    )
    e_n = eng_rows.group_by(STRATA).len("e")
    c_n = comp_rows.group_by(STRATA).len("c")
    matched = e_n.join(c_n, on=STRATA, how="inner")
    unmatched = int(e_n["e"].sum() or 0) - int(matched["e"].sum() or 0)
    monthly = monthly_harm(victimisations)
    eng_m = (
        eng_rows.join(matched.select(STRATA), on=STRATA)
        .join(_periods(eng_rows, monthly, before_months, after_months), on=["person_id", "month"])
        .sort([*STRATA, "person_id"])
    )
    comp_m = (
        comp_rows.join(matched, on=STRATA)
        .with_columns((pl.col("e") / pl.col("c")).alias("weight"))
        .join(_periods(comp_rows, monthly, before_months, after_months), on=["person_id", "month"])
        .sort([*STRATA, "person_id"])
    )
    if eng_m.is_empty():
        return ImpactResult(
            0,
            0,
            unmatched,
            pending,
            _empty_measure("harm"),
            _empty_measure("victimisations"),
            before_months,
            after_months,
            reps,
        )
    c_w = comp_m["weight"].to_numpy()
    sid = matched.select(STRATA).sort(STRATA).with_row_index("sid")
    e_sid = eng_m.join(sid, on=STRATA, how="left")["sid"].to_numpy().astype(np.int64)
    c_sid = comp_m.join(sid, on=STRATA, how="left")["sid"].to_numpy().astype(np.int64)
    e_arrays = {
        m: (eng_m[f"{m}_before"].to_numpy(), eng_m[f"{m}_after"].to_numpy()) for m in MEASURES
    }
    c_arrays = {
        m: (comp_m[f"{m}_before"].to_numpy(), comp_m[f"{m}_after"].to_numpy()) for m in MEASURES
    }
    boot = _bootstrap(e_arrays, c_arrays, e_sid, c_sid, reps, seed)
    measures = {}
    for name in MEASURES:
        e_b, e_a = e_arrays[name]
        c_b, c_a = c_arrays[name]
        eb, ea = float(e_b.mean()), float(e_a.mean())
        cb, ca = float(np.average(c_b, weights=c_w)), float(np.average(c_a, weights=c_w))
        counterfactual, did, rel = _estimate(eb, ea, cb, ca)
        rels = boot[name]
        lo, hi = (float(x) for x in np.percentile(rels, [2.5, 97.5])) if reps else (rel, rel)
        measures[name] = Measure(
            name=name,
            before_engaged=eb,
            after_engaged=ea,
            before_comparison=cb,
            after_comparison=ca,
            naive_change=ea / eb - 1 if eb else 0.0,
            comparison_change=ca / cb - 1 if cb else 0.0,
            counterfactual=counterfactual,
            did=did,
            relative_effect=rel,
            ci_low=lo,
            ci_high=hi,
        )
    strata = (
        matched.sort(STRATA)
        .with_columns(pl.col("da").cast(pl.String))
        .rename({"e": "engaged", "c": "comparison"})
        .to_dicts()
    )
    who = pl.concat(
        [
            eng_m.select(
                "person_id", "month", pl.lit("engaged").alias("group"), pl.lit(1.0).alias("weight")
            ),
            comp_m.select("person_id", "month", pl.lit("comparison").alias("group"), "weight"),
        ]
    )
    return ImpactResult(
        engaged=eng_m.height,
        comparison=comp_m.height,
        unmatched_engaged=unmatched,
        not_yet_reviewable=pending,
        harm=measures["harm"],
        victimisations=measures["victimisations"],
        before_months=before_months,
        after_months=after_months,
        reps=reps,
        strata=strata,
        matched=who,
    )


def scoped_inputs(run: Run, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(victim list, victimisations) for an impact review within ``scope``: the list rows in
    the scope's neighbourhoods, and the victimisations of the people on them, read through
    the run's locked-down connection with the scope in the SQL."""
    where = scope.sql_filter("neighbourhood_code")
    with run_connection(run) as con:
        lists: pl.DataFrame = (
            con.cursor()
            .sql(
                "select month, person_id, neighbourhood_code, harm_days, da_crimes, status"
                f" from victim_list where {where} order by month, person_id"
            )
            .pl()
        )
        victimisations: pl.DataFrame = (
            con.cursor()
            .sql(
                "select person_id, month, weight, counted from victimisations"
                f" where person_id in (select person_id from victim_list where {where})"
                " order by person_id, month"
            )
            .pl()
        )
    return lists, victimisations
