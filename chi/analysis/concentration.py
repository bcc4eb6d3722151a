"""Harm concentration: how few people hold how much of the harm.

The case for a harm-ranked list rests on concentration (a few victims, dyads and
perpetrators hold most of the harm), so the profile measures it the same way for each:
the power curve (cumulative share of harm against the share of people, most harmed first),
the Lorenz curve (least harmed first), the Gini coefficient, the share of people holding
50/80/85/90% of the total, and the share of the total held by the top 1/5/10/20%. Harm and
counts are measured side by side, so a reader sees how much more concentrated harm is than
volume.

Decisions:

- Only people with at least one event in the period are units (a victim with no crime is
  not in the data). The standard Gini is
  ``G = 2·Σ i·x₍ᵢ₎ / (n·Σx) − (n+1)/n`` over values sorted ascending, ``i = 1..n``.
- Bernasco & Steenbeek (2017) note that with fewer events ``N`` than units ``n`` perfect
  equality is impossible: the most equal spread puts one event on each of ``N`` units and
  gives ``G = 1 − N/n``. Their generalised Gini rescales so that spread scores 0:
  ``G′ = 1 − (1 − G)·n/N`` when ``N < n``, else ``G′ = G``. It matters for sparse counts
  (a month, a small area, places with no crime); for harm, ``N`` is the number of events the
  harm came in.
- "The top ``p``%" is the ``⌈p·n⌉`` people with most harm; "the share holding ``q``% of
  harm" is the smallest ``k/n`` whose top ``k`` hold at least ``q``% (ties in harm do not
  change either figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

HOLDING_LEVELS = (50, 80, 85, 90)
TOP_LEVELS = (1, 5, 10, 20)
_EPS = 1e-9

FloatArray = npt.NDArray[np.float64]


def _values(values: Sequence[float] | npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size and (np.isnan(x).any() or (x < 0).any()):
        raise ValueError("concentration needs non-negative values without gaps")
    return x


def gini(values: Sequence[float] | npt.ArrayLike) -> float | None:
    """The standard Gini coefficient, or None when there is nothing to share."""
    x = np.sort(_values(values))
    n = x.size
    total = math.fsum(x.tolist())
    if n == 0 or total <= 0:
        return None
    ranks = np.arange(1, n + 1, dtype=np.float64)
    weighted = math.fsum((ranks * x).tolist())
    return 2.0 * weighted / (n * total) - (n + 1) / n


def generalised_gini(
    values: Sequence[float] | npt.ArrayLike, events: int | None = None
) -> float | None:
    """Bernasco & Steenbeek's generalised Gini for ``events`` events over the units
    (default: the values are counts, so ``events`` is their sum)."""
    x = _values(values)
    g = gini(x)
    if g is None:
        return None
    n = x.size
    big_n = round(math.fsum(x.tolist())) if events is None else events
    if big_n <= 0:
        return None
    return g if big_n >= n else 1.0 - (1.0 - g) * n / big_n


def _cumulative_desc(x: FloatArray) -> FloatArray:
    """Cumulative share of the total held by the top k units, k = 0..n."""
    ordered = np.sort(x)[::-1]
    total = math.fsum(ordered.tolist())
    return np.concatenate([[0.0], np.cumsum(ordered) / total])


def share_holding(values: Sequence[float] | npt.ArrayLike, level: float) -> tuple[float, int]:
    """(share of units, number of units) of the fewest units that hold ``level`` (0..1)."""
    x = _values(values)
    if x.size == 0 or x.sum() <= 0:
        raise ValueError("no harm to share")
    cum = _cumulative_desc(x)
    k = int(np.searchsorted(cum, level - _EPS, side="left"))
    return k / x.size, k


def top_share(values: Sequence[float] | npt.ArrayLike, fraction: float) -> float:
    """Share of the total held by the top ``⌈fraction·n⌉`` units."""
    x = _values(values)
    if x.size == 0 or x.sum() <= 0:
        raise ValueError("no harm to share")
    k = min(x.size, math.ceil(fraction * x.size - _EPS))
    return float(_cumulative_desc(x)[k])


def _grid() -> FloatArray:
    fine = np.linspace(0.0, 0.05, 51)
    coarse = np.linspace(0.05, 1.0, 96)[1:]
    return np.concatenate([fine, coarse])


def power_curve(values: Sequence[float] | npt.ArrayLike) -> tuple[list[float], list[float]]:
    """(share of people, cumulative share of harm), most harmed first, on a fixed grid
    (every 0.1% up to 5%, then every 1%), exact at each grid point."""
    x = _values(values)
    if x.size == 0 or x.sum() <= 0:
        return [], []
    cum = _cumulative_desc(x)
    people = np.arange(x.size + 1) / x.size
    grid = _grid()
    return grid.round(6).tolist(), np.interp(grid, people, cum).round(6).tolist()


def lorenz_curve(values: Sequence[float] | npt.ArrayLike) -> tuple[list[float], list[float]]:
    """(share of people, cumulative share of harm), least harmed first, on a 1% grid."""
    x = _values(values)
    if x.size == 0 or x.sum() <= 0:
        return [], []
    ordered = np.sort(x)
    cum = np.concatenate([[0.0], np.cumsum(ordered) / math.fsum(ordered.tolist())])
    people = np.arange(x.size + 1) / x.size
    grid = np.linspace(0.0, 1.0, 101)
    return grid.round(6).tolist(), np.interp(grid, people, cum).round(6).tolist()


@dataclass(frozen=True)
class Concentration:
    """How one measure (harm or count) is spread over one population."""

    population: str
    measure: str
    units: int
    events: int
    total: float
    gini: float | None
    generalised_gini: float | None
    holding: dict[str, float]
    """``"85"`` → share of units holding 85% of the total."""
    holding_units: dict[str, int]
    top: dict[str, float]
    """``"1"`` → share of the total held by the top 1% of units."""
    power_x: list[float]
    power_y: list[float]
    lorenz_x: list[float]
    lorenz_y: list[float]

    def as_dict(self, curves: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not curves:
            for key in ("power_x", "power_y", "lorenz_x", "lorenz_y"):
                out.pop(key)
        return out


def concentration(
    population: str,
    measure: str,
    values: Sequence[float] | npt.ArrayLike,
    events: int | None = None,
) -> Concentration:
    """Every concentration figure of ``values`` (one per unit) in one record."""
    x = _values(values)
    n_events = round(float(x.sum())) if events is None else int(events)
    total = math.fsum(x.tolist())
    if x.size == 0 or total <= 0:
        return Concentration(
            population,
            measure,
            int(x.size),
            n_events,
            total,
            None,
            None,
            {},
            {},
            {},
            [],
            [],
            [],
            [],
        )
    holding: dict[str, float] = {}
    holding_units: dict[str, int] = {}
    for level in HOLDING_LEVELS:
        share, k = share_holding(x, level / 100)
        holding[str(level)] = share
        holding_units[str(level)] = k
    px, py = power_curve(x)
    lx, ly = lorenz_curve(x)
    return Concentration(
        population=population,
        measure=measure,
        units=int(x.size),
        events=n_events,
        total=total,
        gini=gini(x),
        generalised_gini=generalised_gini(x, n_events),
        holding=holding,
        holding_units=holding_units,
        top={str(p): top_share(x, p / 100) for p in TOP_LEVELS},
        power_x=px,
        power_y=py,
        lorenz_x=lx,
        lorenz_y=ly,
    )
