"""Domestic abuse: victim-perpetrator dyads, their repeats, severity and risk grades.

Domestic abuse is where repeat victimisation is most concentrated, and the research the
calibration cites describes its shape: most dyads are reported once and never again within a
year (Bland and Ariel 2015: 76%), a few repeat many times, the severity of a dyad's
successive incidents is flat or falling rather than escalating, most intimate-partner
perpetrators are not recorded again within two years (Barnham et al. 2017), and a few
perpetrators abuse more than one victim (MATAC's serial perpetrators).

Here each dyad is a chain (``chains``) with a strongly skewed propensity to repeat; a share
of perpetrators start a second dyad with a new victim months later; a dyad's later
incidents usually happen at the same address as its first; and for a share of repeating
dyads the incidents' offences are ordered from most to least serious, so severity falls on
average. Every DA crime has its perpetrator as a suspect, and its victim a DASH grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chi.generate.chains import ChainModel, assign, correlate_severity
from chi.generate.crimes import Crimes
from chi.generate.offences import Catalogue
from chi.generate.people import (
    ROLE_DA_FAMILY,
    ROLE_DA_PARTNER,
    ROLE_DA_PERPETRATOR,
    People,
)

INTIMATE, EX_PARTNER, FAMILY, OTHER = 0, 1, 2, 3
RELATIONSHIP_SHARE = np.array([0.47, 0.28, 0.2, 0.05])

DYAD_MODEL = ChainModel(
    frailty_shape=0.25,
    frailty_mean=0.45,
    max_branching=0.8,
    fast_share=0.97,
    fast_days=6.0,
    slow_days=45.0,
    max_events=20,
)
SEVERITY_RHO = 0.45
"""How strongly a month's heavier DA offences go to the dyads that repeat most."""
SERIAL_SHARE = 0.05
"""Share of dyads whose perpetrator already had a dyad with another victim."""
SERIAL_GAP_DAYS = (60, 900)
SECOND_VICTIM_SHARE = 0.025
"""Share of DA crimes with a second victim in the household (a parent, a child, a sibling)."""
SAME_PLACE_SHARE = 0.8
FALLING_SEVERITY_SHARE = 0.4
"""Share of repeating dyads whose incidents are ordered from most to least serious."""


@dataclass
class DomesticRows:
    victim_crime: np.ndarray
    victim_person: np.ndarray
    dash: np.ndarray
    """0 standard, 1 medium, 2 high."""
    suspect_crime: np.ndarray
    suspect_person: np.ndarray


def dash_grades(rng: np.random.Generator, weight: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    """Mostly standard, some medium, few high; serious offences and repeats grade higher."""
    serious = weight >= 365
    p_high = 0.04 + 0.35 * serious + 0.06 * (repeats >= 3)
    p_medium = 0.2 + 0.15 * serious + 0.1 * (repeats >= 3)
    u = rng.random(len(weight))
    return np.where(u < p_high, 2, np.where(u < p_high + p_medium, 1, 0))


def attach_dyads(
    rng: np.random.Generator,
    crimes: Crimes,
    cat: Catalogue,
    people: People,
    slots: np.ndarray,
    intensity: np.ndarray,
    first_day: int,
    n_lsoas: int,
) -> DomesticRows:
    """Attach dyads to the DA crimes ``slots`` (adult victims, nobody killed)."""
    chains = assign(rng, DYAD_MODEL, crimes.day[slots], intensity, first_day)
    n_dyads = chains.count
    repeats = np.bincount(chains.chain, minlength=n_dyads)[chains.chain]
    source = correlate_severity(
        rng, slots, crimes.day[slots], repeats, cat.weight[crimes.key[slots]], SEVERITY_RHO
    )
    crimes.move_offences(slots, source)

    perpetrator = np.arange(n_dyads)
    order = np.argsort(chains.start, kind="stable")
    span = max(1.0, float(chains.start.max() - chains.start.min())) if n_dyads else 1.0
    per_day = n_dyads / span
    serial = np.flatnonzero(rng.random(n_dyads) < SERIAL_SHARE)
    position = np.empty(n_dyads, dtype=np.int64)
    position[order] = np.arange(n_dyads)
    gaps = (rng.uniform(*SERIAL_GAP_DAYS, size=len(serial)) * per_day).astype(np.int64)
    for j, gap in zip(serial[np.argsort(position[serial])].tolist(), gaps.tolist(), strict=True):
        p = position[j] - max(1, gap)
        if p >= 0:
            perpetrator[j] = perpetrator[order[p]]

    relationship = rng.choice(4, size=n_dyads, p=RELATIONSHIP_SHARE)
    used = np.zeros(n_dyads, dtype=bool)
    used[chains.chain] = True

    victim_role = np.where(relationship == FAMILY, ROLE_DA_FAMILY, ROLE_DA_PARTNER)
    victim_of = np.full(n_dyads, -1, dtype=np.int64)
    dyads_used = np.flatnonzero(used)
    victim_of[dyads_used] = _add_by_role(people, victim_role[dyads_used])
    roots = np.unique(perpetrator[dyads_used])
    root_person = np.full(n_dyads, -1, dtype=np.int64)
    root_person[roots] = people.add(ROLE_DA_PERPETRATOR, len(roots))
    perp_of = root_person[perpetrator]

    dyad = chains.chain
    by_time = np.lexsort((slots, crimes.day[slots], dyad))
    ordered = slots[by_time]
    dyad_sorted = dyad[by_time]
    first = np.r_[True, dyad_sorted[1:] != dyad_sorted[:-1]]
    first_place = np.maximum.accumulate(np.where(first, np.arange(len(ordered)), 0))
    anchor = crimes.place[ordered[first_place]]
    move = (~first) & (anchor < n_lsoas) & (rng.random(len(ordered)) < SAME_PLACE_SHARE)
    crimes.place[ordered[move]] = anchor[move]
    crimes.outside[ordered[move]] = ""

    counts = np.bincount(dyad, minlength=n_dyads)
    falling = (counts >= 2) & (rng.random(n_dyads) < FALLING_SEVERITY_SHARE)
    pick = falling[dyad_sorted]
    sub = ordered[pick]
    if len(sub):
        keys = crimes.key[sub]
        by_weight = np.lexsort((-cat.weight[keys], dyad_sorted[pick]))
        crimes.key[sub] = keys[by_weight]
        crimes.category[sub] = cat.category[crimes.key[sub]]
        crimes.hate[sub] = cat.hate[crimes.key[sub]]

    crimes.da_relationship[slots] = relationship[dyad]
    dash = dash_grades(rng, cat.weight[crimes.key[slots]], counts[dyad])
    also = np.flatnonzero(rng.random(len(slots)) < SECOND_VICTIM_SHARE)
    second = people.add(ROLE_DA_FAMILY, len(also))
    return DomesticRows(
        victim_crime=np.r_[slots, slots[also]],
        victim_person=np.r_[victim_of[dyad], second],
        dash=np.r_[dash, dash[also]],
        suspect_crime=slots,
        suspect_person=perp_of[dyad],
    )


def _add_by_role(people: People, roles: np.ndarray) -> np.ndarray:
    out = np.empty(len(roles), dtype=np.int64)
    for role in np.unique(roles).tolist():
        rows = np.flatnonzero(roles == role)
        out[rows] = people.add(int(role), len(rows))
    return out


def single_dyads(
    rng: np.random.Generator,
    crimes: Crimes,
    cat: Catalogue,
    people: People,
    slots: np.ndarray,
    victims: np.ndarray,
    *,
    family: bool,
    report: np.ndarray | None = None,
) -> DomesticRows:
    """One-off dyads for DA crimes whose victim was created elsewhere (children, homicides);
    counts of one ``report`` (index of the report's slot) share their perpetrator."""
    report = np.arange(len(slots)) if report is None else report
    relationship = (
        np.full(len(slots), FAMILY)
        if family
        else rng.choice(4, size=len(slots), p=RELATIONSHIP_SHARE)[report]
    )
    crimes.da_relationship[slots] = relationship
    own = np.flatnonzero(report == np.arange(len(slots)))
    perp_of = np.full(len(slots), -1, dtype=np.int64)
    perp_of[own] = people.add(ROLE_DA_PERPETRATOR, len(own))
    perps = perp_of[report]
    return DomesticRows(
        victim_crime=slots,
        victim_person=victims,
        dash=dash_grades(rng, cat.weight[crimes.key[slots]], np.ones(len(slots))),
        suspect_crime=slots,
        suspect_person=perps,
    )
