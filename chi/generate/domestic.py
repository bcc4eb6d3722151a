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
average.

Real DA records are messier than one victim and one perpetrator per dyad, and the generator
says so (calibration bands of "Victim histories over time"): a dyad's repeats are spread
over months, not days (a fast and a slow kernel, and a persistent frailty); a share of
victims are abused later by a new partner or relative (victims with several perpetrators);
in a share of repeating dyads one later incident is a counter-allegation, recorded with the
roles reversed; and DASH is not completed for every DA victimisation. Every DA crime has its
perpetrator as a suspect.
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
    frailty_sigma=1.0,
    base_per_year=0.015,
    branching=0.2,
    fast_share=0.5,
    fast_days=10.0,
    slow_days=150.0,
)
SEVERITY_RHO = 0.45
"""How strongly a month's heavier DA offences go to the dyads that repeat most."""
SERIAL_SHARE = 0.05
"""Share of dyads whose perpetrator already had a dyad with another victim."""
SERIAL_GAP_DAYS = (60, 900)
NEW_PERPETRATOR_SHARE = 0.12
"""Share of dyads whose victim already had a dyad with another perpetrator."""
COUNTER_ALLEGATION_SHARE = 0.12
"""Share of repeating dyads with one later incident recorded with the roles reversed."""
DASH_MISSING_SHARE = 0.2
"""Share of DA victimisations with no DASH grade (the form was not completed)."""
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
    """Mostly standard, some medium, few high; serious offences and repeats grade higher;
    a ``DASH_MISSING_SHARE`` have none (-1)."""
    serious = weight >= 365
    p_high = 0.04 + 0.35 * serious + 0.06 * (repeats >= 3)
    p_medium = 0.2 + 0.15 * serious + 0.1 * (repeats >= 3)
    u = rng.random(len(weight))
    grade = np.where(u < p_high, 2, np.where(u < p_high + p_medium, 1, 0))
    return np.where(rng.random(len(weight)) < DASH_MISSING_SHARE, -1, grade)


def _earlier_partner(
    rng: np.random.Generator, start: np.ndarray, share: float, gap_days: tuple[int, int]
) -> np.ndarray:
    """For each dyad, the dyad whose person it shares (itself for most): a ``share`` of
    dyads take the person of a dyad that started about ``gap_days`` earlier (resolved in
    start order, so a chain of reuses leads back to one person)."""
    n = len(start)
    root = np.arange(n)
    if n == 0:
        return root
    order = np.argsort(start, kind="stable")
    span = max(1.0, float(start.max() - start.min()))
    per_day = n / span
    chosen = np.flatnonzero(rng.random(n) < share)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    gaps = (rng.uniform(*gap_days, size=len(chosen)) * per_day).astype(np.int64)
    for j, gap in zip(chosen[np.argsort(position[chosen])].tolist(), gaps.tolist(), strict=True):
        p = position[j] - max(1, gap)
        if p >= 0:
            root[j] = root[order[p]]
    return root


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

    start = np.where(np.isfinite(chains.start), chains.start, 0.0)
    perpetrator = _earlier_partner(rng, start, SERIAL_SHARE, SERIAL_GAP_DAYS)
    victim_root = _earlier_partner(rng, start, NEW_PERPETRATOR_SHARE, SERIAL_GAP_DAYS)

    relationship = rng.choice(4, size=n_dyads, p=RELATIONSHIP_SHARE)
    used = np.zeros(n_dyads, dtype=bool)
    used[chains.chain] = True

    victim_role = np.where(relationship == FAMILY, ROLE_DA_FAMILY, ROLE_DA_PARTNER)
    victim_of = np.full(n_dyads, -1, dtype=np.int64)
    dyads_used = np.flatnonzero(used)
    victim_roots = np.unique(victim_root[dyads_used])
    victim_of[victim_roots] = _add_by_role(people, victim_role[victim_roots])
    victim_of = victim_of[victim_root]
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
    victim_person, suspect_person = victim_of[dyad], perp_of[dyad]
    swap = _counter_allegations(rng, dyad, crimes.day[slots], cat.sex[crimes.key[slots]] < 0)
    victim_person[swap], suspect_person[swap] = suspect_person[swap], victim_person[swap]
    also = np.flatnonzero(rng.random(len(slots)) < SECOND_VICTIM_SHARE)
    second = people.add(ROLE_DA_FAMILY, len(also))
    return DomesticRows(
        victim_crime=np.r_[slots, slots[also]],
        victim_person=np.r_[victim_person, second],
        dash=np.r_[dash, dash[also]],
        suspect_crime=slots,
        suspect_person=suspect_person,
    )


def _counter_allegations(
    rng: np.random.Generator, dyad: np.ndarray, day: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    """Slots recorded with the roles reversed: in a ``COUNTER_ALLEGATION_SHARE`` of the
    dyads with two or more incidents, one incident after the first, chosen at random among
    those whose offence does not fix the victim's sex."""
    order = np.lexsort((rng.random(len(dyad)), day, dyad))
    d = dyad[order]
    later = np.r_[False, d[1:] == d[:-1]] & eligible[order]
    candidates: np.ndarray = order[later]
    if not len(candidates):
        return candidates
    candidates = candidates[rng.permutation(len(candidates))]
    _, first = np.unique(dyad[candidates], return_index=True)
    picked = candidates[first]
    out: np.ndarray = np.sort(picked[rng.random(len(picked)) < COUNTER_ALLEGATION_SHARE])
    return out


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
