"""Repeats: who is victimised (or offends) again, how soon, and how the chance grows.

Repeat victimisation is the strongest predictor of the next victimisation, and its timing
says how long a safeguarding response has: most repeats come soon after the last incident
(Polvi et al. 1991; Farrell and Pease). The same questions are asked of victims, DA dyads
and DA perpetrators ("units"), each from a frame of events (``unit``, ``recorded_date``,
``crime_id``).

Decisions:

- **Repeat rate** over a period: the share of units with two or more events in it, and
  the share of events that are repeats (an event is a repeat if the unit had an earlier one
  in the period: ``(events − units) / events``). Events are victimisations (crime, victim),
  as on the victim list.
- **Time to the next event**: from each unit's first event in the period to its next event
  recorded on a *later day* (events on the same day are usually one incident recorded as
  several crimes, and a zero gap says nothing about timing), at any date up to the
  extract's as-of date; a unit with no later event is censored at as-of. One index per unit
  keeps the Kaplan–Meier assumption of independent observations.
- **Kaplan–Meier**: ``S(t) = Π (1 − dⱼ/nⱼ)`` over event times ``tⱼ ≤ t``, with ``nⱼ`` the
  units still at risk (time ≥ ``tⱼ``: a unit censored at ``tⱼ`` is still at risk then);
  95% interval from Greenwood's variance on the log scale. ``S(t)`` is not estimated past
  the longest follow-up.
- **Hazard by days since the last incident**: every event day of a unit in the period is an
  index; events per 1,000 unit-days at risk in the bands 1–30, 31–90, 91–180, 181–365 and
  366–730 days (exposure is counted exactly, day by day, up to the next event or as-of).
- **P(k+1 | k)**: of units with at least ``k`` events in the period, the share with at
  least ``k + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

HAZARD_BANDS: tuple[tuple[int, int], ...] = ((0, 30), (30, 90), (90, 180), (180, 365), (365, 730))
"""(lo, hi]: an event after ``d`` days falls in the band with ``lo < d ≤ hi``."""
Z95 = 1.959963984540054


@dataclass(frozen=True)
class KaplanMeier:
    """The Kaplan–Meier table at each distinct time (event or censoring), in days."""

    time: list[int]
    at_risk: list[int]
    events: list[int]
    censored: list[int]
    survival: list[float]
    lower: list[float]
    upper: list[float]
    units: int
    max_follow_up: int

    def at(self, t: float) -> float | None:
        """``S(t)``, or None when nobody was followed up for ``t`` days."""
        if self.units == 0 or t > self.max_follow_up:
            return None
        s = 1.0
        for time, surv in zip(self.time, self.survival, strict=True):
            if time > t:
                break
            s = surv
        return s

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def kaplan_meier(
    durations: Sequence[float] | npt.ArrayLike, observed: Sequence[bool] | npt.ArrayLike
) -> KaplanMeier:
    """Kaplan–Meier survival with Greenwood log-scale 95% intervals."""
    t = np.asarray(durations, dtype=np.int64).ravel()
    e = np.asarray(observed, dtype=bool).ravel()
    if t.shape != e.shape:
        raise ValueError("durations and observed differ in length")
    if t.size and t.min() < 0:
        raise ValueError("durations must be zero or more")
    out: dict[str, list[Any]] = {k: [] for k in ("time", "at_risk", "events", "censored")}
    surv: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    s = 1.0
    greenwood = 0.0
    times, index = np.unique(t, return_inverse=True)
    events = np.bincount(index, weights=e, minlength=times.size).astype(np.int64)
    ended = np.bincount(index, minlength=times.size)
    at_risks = t.size - (np.cumsum(ended) - ended)  # still followed at each time
    for time, at_risk, d, n_ended in zip(
        times.tolist(), at_risks.tolist(), events.tolist(), ended.tolist(), strict=True
    ):
        c = n_ended - d
        if d:
            s *= 1.0 - d / at_risk
            greenwood = greenwood + d / (at_risk * (at_risk - d)) if at_risk > d else math.inf
        out["time"].append(int(time))
        out["at_risk"].append(at_risk)
        out["events"].append(d)
        out["censored"].append(c)
        surv.append(s)
        if s <= 0 or math.isinf(greenwood):
            lower.append(0.0)
            upper.append(s if s > 0 else 0.0)
        else:
            half = Z95 * math.sqrt(greenwood)
            lower.append(max(0.0, s * math.exp(-half)))
            upper.append(min(1.0, s * math.exp(half)))
    return KaplanMeier(
        time=out["time"],
        at_risk=out["at_risk"],
        events=out["events"],
        censored=out["censored"],
        survival=surv,
        lower=lower,
        upper=upper,
        units=int(t.size),
        max_follow_up=int(t.max()) if t.size else 0,
    )


@dataclass(frozen=True)
class HazardBand:
    lo: int
    hi: int
    events: int
    unit_days: int
    per_1000_days: float | None


def hazard_by_band(
    durations: Sequence[float] | npt.ArrayLike,
    observed: Sequence[bool] | npt.ArrayLike,
    bands: tuple[tuple[int, int], ...] = HAZARD_BANDS,
) -> list[HazardBand]:
    """Events per 1,000 unit-days at risk, by days since the index event."""
    t = np.asarray(durations, dtype=np.int64).ravel()
    e = np.asarray(observed, dtype=bool).ravel()
    out = []
    for lo, hi in bands:
        exposure = int(np.clip(np.minimum(t, hi) - lo, 0, None).sum())
        events = int(((t > lo) & (t <= hi) & e).sum())
        rate = 1000.0 * events / exposure if exposure else None
        out.append(HazardBand(lo, hi, events, exposure, rate))
    return out


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days()


def _event_days(events: pl.DataFrame) -> pl.DataFrame:
    return events.select("unit", "recorded_date").unique().sort("unit", "recorded_date")


def next_event_days(events: pl.DataFrame, start: date, as_of: date) -> pl.DataFrame:
    """Each unit's event days from ``start`` to ``as_of`` with its next later event day
    (``next_date``, null for its last). Days before ``start`` cannot follow an index event
    in the period, so they are not read."""
    days = _event_days(events.filter(pl.col("recorded_date").is_between(start, as_of)))
    same_unit = pl.col("unit").shift(-1).eq_missing(pl.col("unit"))
    return days.with_columns(next_date=pl.when(same_unit).then(pl.col("recorded_date").shift(-1)))


def time_to_next(
    events: pl.DataFrame,
    start: date,
    end: date,
    as_of: date,
    first_only: bool = True,
    index_events: pl.DataFrame | None = None,
    days: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per index event (each unit's first in ``start..end``, or every event day in it):
    ``unit``, ``index_date``, ``days`` to the next later-day event or to as-of, ``observed``.

    ``events`` may (and should) hold events after ``end``: they end a follow-up. Index
    events are taken from ``index_events`` when given (e.g. intimate-partner crimes, followed
    up to the next DA crime of any kind), else from ``events``. ``days``: the
    ``next_event_days`` of ``events`` from ``start``, when the caller has them already."""
    if days is None:
        days = next_event_days(events, start, as_of)
    source = (
        days
        if index_events is None
        else _event_days(index_events).join(days, on=["unit", "recorded_date"], how="left")
    )
    index = source.filter(pl.col("recorded_date").is_between(start, end))
    if first_only:
        index = index.group_by("unit").agg(pl.all().sort_by("recorded_date").first())
    return index.select(
        "unit",
        index_date=pl.col("recorded_date"),
        days=pl.when(pl.col("next_date").is_not_null())
        .then(_days(pl.col("next_date"), pl.col("recorded_date")))
        .otherwise(_days(pl.lit(as_of), pl.col("recorded_date"))),
        observed=pl.col("next_date").is_not_null(),
    ).sort("unit", "index_date")


@dataclass(frozen=True)
class RepeatRate:
    units: int
    repeat_units: int
    repeat_unit_share: float | None
    events: int
    repeat_events: int
    repeat_event_share: float | None
    harm: float
    repeat_harm: float
    repeat_harm_share: float | None


def repeat_rate(per_unit: pl.DataFrame) -> RepeatRate:
    """From one row per unit with ``events`` (count) and ``harm``."""
    units = per_unit.height
    repeat = per_unit.filter(pl.col("events") >= 2)
    events = int(per_unit["events"].sum()) if units else 0
    harm = float(per_unit["harm"].sum()) if units else 0.0
    repeat_harm = float(repeat["harm"].sum()) if repeat.height else 0.0
    return RepeatRate(
        units=units,
        repeat_units=repeat.height,
        repeat_unit_share=repeat.height / units if units else None,
        events=events,
        repeat_events=events - units,
        repeat_event_share=(events - units) / events if events else None,
        harm=harm,
        repeat_harm=repeat_harm,
        repeat_harm_share=repeat_harm / harm if harm > 0 else None,
    )


@dataclass(frozen=True)
class NextGivenK:
    k: int
    units_k: int
    units_next: int
    probability: float | None


def next_given_k(counts: Sequence[int] | npt.ArrayLike, k_max: int = 10) -> list[NextGivenK]:
    """P(k+1 | k) for k = 1..k_max, stopping where fewer than one unit has k events."""
    c = np.asarray(counts, dtype=np.int64).ravel()
    out = []
    for k in range(1, k_max + 1):
        have_k = int((c >= k).sum())
        if have_k == 0:
            break
        have_next = int((c >= k + 1).sum())
        out.append(NextGivenK(k, have_k, have_next, have_next / have_k))
    return out


@dataclass(frozen=True)
class Repeats:
    """Every repeat figure of one population over a period."""

    population: str
    rate: RepeatRate
    survival: KaplanMeier
    hazard: list[HazardBand]
    next_given_k: list[NextGivenK]
    no_repeat_12m: float | None
    no_repeat_24m: float | None

    def as_dict(self, curves: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not curves:
            out.pop("survival")
            out["survival_units"] = self.survival.units
            out["survival_max_follow_up"] = self.survival.max_follow_up
        return out


def repeats(
    population: str,
    events: pl.DataFrame,
    start: date,
    end: date,
    as_of: date,
    index_events: pl.DataFrame | None = None,
) -> Repeats:
    """Repeat figures for events (``unit``, ``recorded_date``, ``crime_id``, ``harm``) of
    one population; counts and harm over ``start..end``, follow-up to ``as_of``. With
    ``index_events``, only units and days in it start a follow-up (see ``time_to_next``)."""
    scope = (
        events
        if index_events is None
        else events.join(index_events.select("unit").unique(), on="unit", how="semi")
    )
    in_period = scope.filter(pl.col("recorded_date").is_between(start, end))
    per_unit = in_period.group_by("unit").agg(
        events=pl.len(), harm=pl.col("harm").fill_null(0).sum()
    )
    days = next_event_days(events, start, as_of)
    first = time_to_next(events, start, end, as_of, True, index_events, days)
    every = time_to_next(events, start, end, as_of, False, index_events, days)
    km = kaplan_meier(first["days"].to_numpy(), first["observed"].to_numpy())
    return Repeats(
        population=population,
        rate=repeat_rate(per_unit),
        survival=km,
        hazard=hazard_by_band(every["days"].to_numpy(), every["observed"].to_numpy()),
        next_given_k=next_given_k(per_unit["events"].to_numpy()),
        no_repeat_12m=km.at(365),
        no_repeat_24m=km.at(730),
    )


def survival_points(km: KaplanMeier, horizon: int = 365) -> list[dict[str, float]]:
    """The curve as (days, survival, lower, upper) points for a step-after line up to
    ``horizon``: day 0, each change, and the last day followed up (or the horizon)."""
    points = [{"days": 0.0, "survival": 1.0, "lower": 1.0, "upper": 1.0}]
    for t, s, lo, hi, d in zip(km.time, km.survival, km.lower, km.upper, km.events, strict=True):
        if t > horizon:
            break
        if d == 0:
            continue
        point = {"days": float(t), "survival": s, "lower": lo, "upper": hi}
        if t == 0:
            points[0] = point
        else:
            points.append(point)
    end = float(min(horizon, km.max_follow_up))
    if end > points[-1]["days"]:
        points.append({**points[-1], "days": end})
    return points
