"""Escalation within DA dyads: do successive incidents get more harmful, or more frequent?

"Escalation" is often assumed and rarely measured. The research the calibration cites finds
that within dyads severity is flat or falling (Bland and Ariel 2015; Barnham et al. 2017),
while a board often hears the opposite, so the profile measures both severity and
frequency and says plainly which, if either, rises.

Decisions:

- The dyads are those with a DA incident in the period (within the scope). Each dyad's
  incidents are all its counted DA crimes in the extract up to the as-of date, numbered
  1, 2, 3... in order of recording (ties: crime reference), so an incident before the period
  still counts as the first. The extract's first month truncates older history.
- **Severity by incident number**: the mean CHI of incident ``k`` over dyads with at least
  ``k`` incidents, with a 95% t-interval, shown while at least ``MIN_DYADS`` dyads reach
  ``k``. The mix of dyads changes with ``k`` (only repeating dyads reach 2), so the verdict
  does not rest on these means.
- **Verdict on severity**: within each dyad, each incident against the one before. A sign
  test (exact binomial, two-sided, 5%) on the rises against the falls (equal harm is a
  tie and set aside) says whether severity rises, falls or shows no clear change.
- **Verdict on frequency**: within each dyad with three or more incidents, each gap
  between incidents against the gap before; frequency rises when gaps shorten more often
  than they lengthen (same sign test).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl
from scipy import special

MIN_DYADS = 10
MAX_INCIDENT = 10


@dataclass(frozen=True)
class IncidentStep:
    incident: int
    dyads: int
    mean_harm: float | None
    lower: float | None
    upper: float | None
    median_harm: float | None
    median_gap_days: float | None
    """Median days since the previous incident (incident 2 onwards)."""
    mean_gap_days: float | None


@dataclass(frozen=True)
class SignTest:
    rises: int
    falls: int
    ties: int
    p_value: float | None
    verdict: str
    """``"rises"``, ``"falls"`` or ``"no clear change"``."""


@dataclass(frozen=True)
class Escalation:
    dyads: int
    repeating_dyads: int
    steps: list[IncidentStep]
    severity: SignTest
    frequency: SignTest

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sign_test_p(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair trials: twice the smaller
    tail, in integer arithmetic (scipy.stats.binomtest's value to about 1e-14, relative,
    without importing scipy.stats)."""
    if 2 * k == n:
        return 1.0
    low = min(k, n - k)
    term, tail = 1, 0
    for i in range(low + 1):
        tail += term
        term = term * (n - i) // (i + 1)
    return min(1.0, float(Fraction(2 * tail, 2**n)))


def sign_test(rises: int, falls: int, ties: int) -> SignTest:
    """Exact two-sided binomial test of rises against falls (ties set aside), at 5%."""
    n = rises + falls
    if n == 0:
        return SignTest(rises, falls, ties, None, "no clear change")
    p = sign_test_p(rises, n)
    verdict = "no clear change" if p >= 0.05 else "rises" if rises > falls else "falls"
    return SignTest(rises, falls, ties, p, verdict)


def _t_interval(values: np.ndarray) -> tuple[float | None, float | None]:
    n = values.size
    if n < 2:
        return None, None
    mean = float(values.mean())
    sem = float(values.std(ddof=1)) / np.sqrt(n)
    half = float(special.stdtrit(n - 1, 0.975)) * sem  # scipy.stats.t.ppf(0.975, n - 1)
    return mean - half, mean + half


def numbered_incidents(links: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One row per (dyad, DA crime): ``dyad``, ``incident`` (1, 2, ...), ``recorded_date``,
    ``harm`` (null when unmatched), ``gap_days`` since the dyad's previous incident."""
    return (
        links.filter(pl.col("counted") & (pl.col("recorded_date") <= as_of))
        .select(
            dyad=pl.concat_str("offender_id", "victim_id", separator="|"),
            crime_id="crime_id",
            recorded_date="recorded_date",
            harm=pl.col("weight"),
        )
        .unique(["dyad", "crime_id"])
        .sort("dyad", "recorded_date", "crime_id")
        .with_columns(
            incident=pl.int_range(1, pl.len() + 1).over("dyad"),
            gap_days=(pl.col("recorded_date") - pl.col("recorded_date").shift(1))
            .dt.total_days()
            .over("dyad"),
        )
    )


def escalation(links: pl.DataFrame, start: date, end: date, as_of: date) -> Escalation:
    """Escalation figures for the dyads with an incident in ``start..end`` among ``links``
    (the DA links within the scope; their whole history is used)."""
    incidents = numbered_incidents(links, as_of)
    active = (
        incidents.filter(pl.col("recorded_date").is_between(start, end)).select("dyad").unique()
    )
    chosen = incidents.join(active, on="dyad", how="semi")
    steps = []
    for k in range(1, MAX_INCIDENT + 1):
        at_k = chosen.filter(pl.col("incident") == k)
        if at_k.height < MIN_DYADS:
            break
        harm = at_k["harm"].drop_nulls().to_numpy().astype(np.float64)
        gaps = at_k["gap_days"].drop_nulls().to_numpy().astype(np.float64)
        lo, hi = _t_interval(harm)
        steps.append(
            IncidentStep(
                incident=k,
                dyads=at_k.height,
                mean_harm=float(harm.mean()) if harm.size else None,
                lower=lo,
                upper=hi,
                median_harm=float(np.median(harm)) if harm.size else None,
                median_gap_days=float(np.median(gaps)) if gaps.size else None,
                mean_gap_days=float(gaps.mean()) if gaps.size else None,
            )
        )
    pairs = chosen.with_columns(
        previous_harm=pl.col("harm").shift(1).over("dyad"),
        previous_gap=pl.col("gap_days").shift(1).over("dyad"),
    )
    sev = pairs.filter(pl.col("harm").is_not_null() & pl.col("previous_harm").is_not_null())
    severity = sign_test(
        int((sev["harm"] > sev["previous_harm"]).sum()),
        int((sev["harm"] < sev["previous_harm"]).sum()),
        int((sev["harm"] == sev["previous_harm"]).sum()),
    )
    gap = pairs.filter(pl.col("gap_days").is_not_null() & pl.col("previous_gap").is_not_null())
    frequency = sign_test(
        int((gap["gap_days"] < gap["previous_gap"]).sum()),
        int((gap["gap_days"] > gap["previous_gap"]).sum()),
        int((gap["gap_days"] == gap["previous_gap"]).sum()),
    )
    per_dyad = chosen.group_by("dyad").agg(pl.len())
    return Escalation(
        dyads=per_dyad.height,
        repeating_dyads=int((per_dyad["len"] >= 2).sum()),
        steps=steps,
        severity=severity,
        frequency=frequency,
    )
