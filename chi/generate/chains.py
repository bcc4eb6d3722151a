"""Who suffers which crime: victimisation histories matched onto crime slots.

Victimisation is concentrated and comes in bursts, and the research describes how one year
leads to the next (``shared/spec/calibration.md``, "Victim histories over time"): the risk
of a further victimisation rises with every prior one, with no cap or plateau (Farrell and
Pease; Barnham et al. 2017); a victimisation raises the risk for a while, and the boost
decays but is still there months later (Polvi et al. 1991); and most of a year's most
harmed victims are new the next year.

Each chain here is one victim (or, for domestic abuse, one victim and perpetrator pair) with
two parts:

- a **persistent frailty** ``z`` (lognormal, mean 1, a heavy tail): the
  chain's background victimisations arrive as a Poisson process at ``base_per_year * z``
  over the whole span, following the calibrated seasonality. Because ``z`` persists, the
  more victimisations a person has had, the higher their expected risk next year, without
  limit: no chain is ever capped;
- a **self-exciting boost**: every event spawns a Poisson number of follow-ups
  (``branching``) at delays from a fast and a slow decaying kernel (a Hawkes cluster).

Only chains with at least one background event exist, so the generator draws them
directly: ``z`` from the size-biased lognormal thinned by ``(1 - e^-m) / m``, the
first event from the truncated exponential and the rest as a Poisson count after it (exact
for a Poisson process), in the operational time of the intensity. Chains start before the
extract's first month (a burn-in year) so the first months already contain repeats, as a
real extract would.

The crimes themselves were fixed beforehand to match the calibrated volume, seasonality and
mix. Chain events are matched to crime slots by rank in time (the k-th event gets the k-th
slot), which keeps each chain's spacing to within a day or two while leaving every
calibrated total untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class ChainModel:
    frailty_sigma: float
    """Log-scale spread of the persistent frailty (lognormal, mean 1): larger = heavier
    tail."""
    base_per_year: float
    """Background events a year of a chain of frailty 1 (before self-excitation)."""
    branching: float
    """Mean direct follow-ups of each event (below 1: every cluster ends)."""
    fast_share: float
    """Share of follow-ups on the fast kernel."""
    fast_days: float
    slow_days: float
    burn_in_days: int = 365


@dataclass(frozen=True)
class Chains:
    chain: np.ndarray
    """Chain index of each slot, aligned with the slots passed to ``assign``."""
    frailty: np.ndarray
    """Persistent frailty of each chain (0 for chains added as one-offs)."""
    start: np.ndarray
    """Time (days) of each chain's first event."""

    @property
    def count(self) -> int:
        return len(self.frailty)


def _operational(intensity: np.ndarray) -> np.ndarray:
    """The cumulative intensity at each day boundary, from 0 to 1: ``_to_days`` maps
    operational time u in [0, 1] back to a (fractional) day."""
    cdf: np.ndarray = np.r_[0.0, np.cumsum(intensity)]
    out: np.ndarray = cdf / cdf[-1]
    return out


def _to_days(u: np.ndarray, cdf: np.ndarray, first_day: int) -> np.ndarray:
    grid = first_day + np.arange(len(cdf), dtype=np.float64)
    return np.asarray(np.interp(u, cdf, grid), dtype=np.float64)


def _draw_chains(
    rng: np.random.Generator, model: ChainModel, n: int, mean_events: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` chains with at least one background event over the span: (frailty, chain
    index of each background event, its operational time in [0, 1])."""
    sigma = model.frailty_sigma
    z = np.zeros(0)
    while len(z) < n:
        need = n - len(z)
        # Size-biased lognormal(-s^2/2, s) is lognormal(+s^2/2, s).
        cand = np.exp(sigma * rng.standard_normal(int(need * 1.5) + 16) + sigma * sigma / 2)
        m = mean_events * cand
        accept = rng.random(len(cand)) < -np.expm1(-m) / m
        z = np.r_[z, cand[accept]][:n]
    m = mean_events * z
    first = -np.log1p(rng.random(n) * np.expm1(-m)) / m
    first = np.minimum(first, 1.0)
    rest = rng.poisson(m * (1.0 - first))
    chain = np.r_[np.arange(n), np.repeat(np.arange(n), rest)]
    lo = np.repeat(first, rest)
    u = np.r_[first, lo + rng.random(len(lo)) * (1.0 - lo)]
    return z, chain, u


def _offspring(
    rng: np.random.Generator,
    model: ChainModel,
    chain: np.ndarray,
    time: np.ndarray,
    horizon: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Every generation of follow-ups of the events (``chain``, ``time``) before
    ``horizon``, the events themselves included."""
    chains, times = [chain], [time]
    while len(chain):
        kids = rng.poisson(model.branching, len(chain))
        parent = np.repeat(np.arange(len(chain)), kids)
        chain = chain[parent]
        fast = rng.random(len(chain)) < model.fast_share
        delay = np.where(
            fast,
            rng.exponential(model.fast_days, len(chain)),
            rng.exponential(model.slow_days, len(chain)),
        )
        time = time[parent] + delay
        keep = time < horizon
        chain, time = chain[keep], time[keep]
        chains.append(chain)
        times.append(time)
    return np.concatenate(chains), np.concatenate(times)


def simulate(
    rng: np.random.Generator,
    model: ChainModel,
    n_chains: int,
    intensity: np.ndarray,
    first_day: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_chains`` chains over the span of ``intensity`` (from ``first_day``): (frailty,
    chain of each event, day of each event), events in no particular order."""
    span_years = len(intensity) / 365.25
    cdf = _operational(intensity)
    frailty, chain, u = _draw_chains(rng, model, n_chains, model.base_per_year * span_years)
    days = _to_days(u, cdf, first_day)
    chain, days = _offspring(rng, model, chain, days, float(first_day + len(intensity)))
    return frailty, chain, days


def expected_events(model: ChainModel, span_days: int, window_share: float) -> float:
    """Expected events of one chain inside the window (a ``window_share`` of the span)."""
    mean = model.base_per_year * span_days / 365.25
    sigma = model.frailty_sigma
    # E[N | N >= 1] = E[N] / P(N >= 1), P(N >= 1) = E[1 - exp(-mean z)] over the frailty.
    z = np.exp(sigma * NormalDist().inv_cdf(0.5) + sigma * np.linspace(-3, 3, 601) - sigma**2 / 2)
    w = np.exp(-(np.linspace(-3, 3, 601) ** 2) / 2)
    p_any = float(np.sum(w * -np.expm1(-mean * z)) / np.sum(w))
    background = mean / max(p_any, 1e-12)
    return float(background * window_share / (1.0 - model.branching))


def sample_times(
    rng: np.random.Generator, intensity: np.ndarray, first_day: int, n: int
) -> np.ndarray:
    """``n`` times (days, fractional) drawn from a daily intensity starting at ``first_day``."""
    days = rng.choice(len(intensity), size=n, p=intensity / intensity.sum())
    return np.asarray(first_day + days + rng.random(n), dtype=np.float64)


def assign(
    rng: np.random.Generator,
    model: ChainModel,
    slot_days: np.ndarray,
    intensity: np.ndarray,
    first_day: int,
) -> Chains:
    """Attach the slots (crime days in the extract) to chains; ``intensity`` covers the
    burn-in year and the extract, starting at ``first_day`` (= extract start - burn-in)."""
    n_slots = len(slot_days)
    if n_slots == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Chains(empty, np.zeros(0), np.zeros(0))
    window_start = first_day + model.burn_in_days
    span = len(intensity)
    window_share = float(intensity[model.burn_in_days :].sum() / intensity.sum())
    n_chains = max(1, round(1.02 * n_slots / expected_events(model, span, window_share)))
    for _attempt in range(4):
        frailty, chain, time = simulate(rng, model, n_chains, intensity, first_day)
        start = np.full(len(frailty), np.inf)
        np.minimum.at(start, chain, time)
        inside = time >= window_start
        chain, time = chain[inside], time[inside]
        if len(chain) >= n_slots:
            break
        n_chains = max(1, round(n_chains * 1.03 * n_slots / max(1, len(chain))))

    if len(chain) > n_slots:
        keep = np.sort(rng.choice(len(chain), size=n_slots, replace=False))
        chain, time = chain[keep], time[keep]
    elif len(chain) < n_slots:
        extra = n_slots - len(chain)
        extra_start = sample_times(rng, intensity[model.burn_in_days :], window_start, extra)
        # One-off chains are numbered after the chains simulated, whatever n_chains became.
        chain = np.concatenate([chain, len(frailty) + np.arange(extra)])
        time = np.concatenate([time, extra_start])
        start = np.concatenate([start, extra_start])
        frailty = np.concatenate([frailty, np.zeros(extra)])

    event_order = np.argsort(time, kind="stable")
    slot_order = np.lexsort((rng.random(n_slots), slot_days))
    slot_chain = np.empty(n_slots, dtype=np.int64)
    slot_chain[slot_order] = chain[event_order]
    return Chains(slot_chain, frailty, start)


def correlate_severity(
    rng: np.random.Generator,
    slots: np.ndarray,
    day: np.ndarray,
    propensity: np.ndarray,
    weight: np.ndarray,
    rho: float,
) -> np.ndarray:
    """A permutation of ``slots`` that gives the heavier offences of each month to the
    slots of more repeat-prone chains, with rank correlation about ``rho``.

    Returns ``source`` such that slot ``slots[i]`` should take the offence of
    ``slots[source[i]]``; offences only move within a calendar month, so the month x
    category totals stay exactly as generated."""
    n = len(slots)
    source = np.arange(n)
    if n == 0 or rho <= 0:
        return source
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    z = np.empty(n)
    order = np.lexsort((rng.random(n), propensity))
    z[order] = (np.arange(n) + 0.5) / n
    normal = NormalDist()
    zq = np.array([normal.inv_cdf(q) for q in z.tolist()])
    score = rho * zq + np.sqrt(1 - rho * rho) * rng.standard_normal(n)
    for m in np.unique(month).tolist():
        rows = np.flatnonzero(month == m)
        by_score = rows[np.lexsort((rng.random(len(rows)), -score[rows]))]
        by_weight = rows[np.lexsort((rng.random(len(rows)), -weight[rows]))]
        source[by_score] = by_weight
    return source


def merge_counts(
    rng: np.random.Generator, group: np.ndarray, eligible: np.ndarray, share: float
) -> np.ndarray:
    """Several counts in one report: within each ``group`` (e.g. month x offence), a
    ``share`` of the ``eligible`` slots become further counts of another eligible slot.

    Returns ``into``: for each slot, the slot whose victim and date it takes (itself if it
    stays a report of its own)."""
    n = len(group)
    into = np.arange(n)
    rows = np.flatnonzero(eligible)
    if not len(rows) or share <= 0:
        return into
    rows = rows[np.lexsort((rng.random(len(rows)), group[rows]))]
    g = group[rows]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(rows)])
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        m = int(share * size + rng.random())
        m = min(m, size // 2)
        if m:
            into[rows[start : start + m]] = rows[start + m : start + 2 * m]
    return into
