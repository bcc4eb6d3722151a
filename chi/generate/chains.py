"""Who suffers which crime: self-exciting victimisation chains matched onto crime slots.

Victimisation is concentrated and comes in bursts: some people carry a far higher risk than
others, and a victimisation raises the chance of the next one for a while (Polvi et al.;
Farrell and Pease). Each chain here is one victim (or, for domestic abuse, one victim and
perpetrator pair) with a gamma-distributed propensity to repeat; each event spawns a Poisson
number of follow-ups at delays drawn from a fast and a slow decaying kernel (a Hawkes
cluster process). Chains start before the extract's first month (a burn-in year) so the
first months already contain repeats, as a real extract would.

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
    frailty_shape: float
    """Gamma shape of the propensity to repeat: smaller = more concentrated."""
    frailty_mean: float
    """Mean expected number of direct follow-ups per event."""
    max_branching: float
    fast_share: float
    """Share of follow-ups on the fast kernel."""
    fast_days: float
    slow_days: float
    max_events: int = 30
    """No chain grows beyond this many events (the most prolific real cases)."""
    burn_in_days: int = 365


@dataclass(frozen=True)
class Chains:
    chain: np.ndarray
    """Chain index of each slot, aligned with the slots passed to ``assign``."""
    branching: np.ndarray
    """Propensity of each chain (0 for chains added as one-offs)."""
    start: np.ndarray
    """Start time (days) of each chain."""

    @property
    def count(self) -> int:
        return len(self.branching)


def _simulate(
    rng: np.random.Generator,
    model: ChainModel,
    starts: np.ndarray,
    branching: np.ndarray,
    horizon: float,
) -> tuple[np.ndarray, np.ndarray]:
    chain = np.arange(len(starts))
    time = starts.astype(np.float64)
    chains, times = [chain], [time]
    size = np.ones(len(starts), dtype=np.int64)
    while len(chain):
        kids = rng.poisson(branching[chain])
        kids = np.where(size[chain] >= model.max_events, 0, kids)
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
        size += np.bincount(chain, minlength=len(size))
        chains.append(chain)
        times.append(time)
    return np.concatenate(chains), np.concatenate(times)


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
    horizon = float(first_day + len(intensity))
    probe = np.minimum(
        rng.gamma(model.frailty_shape, model.frailty_mean / model.frailty_shape, 20_000),
        model.max_branching,
    )
    mean_size = float(np.mean(np.minimum(1.0 / (1.0 - probe), model.max_events)))
    total_len = horizon - first_day
    n_chains = max(1, round(1.05 * n_slots / mean_size * total_len / (horizon - window_start)))
    for _attempt in range(3):
        starts = np.sort(sample_times(rng, intensity, first_day, n_chains))
        branching = np.minimum(
            rng.gamma(model.frailty_shape, model.frailty_mean / model.frailty_shape, n_chains),
            model.max_branching,
        )
        chain, time = _simulate(rng, model, starts, branching, horizon)
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
        # Number the one-off chains after the chains simulated in the last attempt (``starts``
        # and ``branching`` are that attempt's), not after ``n_chains``, which the loop may
        # already have raised for an attempt that never ran.
        chain = np.concatenate([chain, len(branching) + np.arange(extra)])
        time = np.concatenate([time, extra_start])
        starts = np.concatenate([starts, extra_start])
        branching = np.concatenate([branching, np.zeros(extra)])

    event_order = np.argsort(time, kind="stable")
    slot_order = np.lexsort((rng.random(n_slots), slot_days))
    slot_chain = np.empty(n_slots, dtype=np.int64)
    slot_chain[slot_order] = chain[event_order]
    return Chains(slot_chain, branching, starts)


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
