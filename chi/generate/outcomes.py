"""Outcomes and suspects: what happened to each crime and who was named for it.

The outcome of a crime is drawn from the 2024 police.uk last-outcome shares of its category,
translated to Home Office outcome types (``OUTCOME_TYPES``): "Court result unavailable" and
"Awaiting court outcome" are charges (type 1), "Unable to prosecute suspect" the evidential
difficulty types 14-16, and so on. Each outcome comes some weeks after recording; one that
would fall after the extract's as-of date is not known yet, so recent crimes are more often
open (null), as in a real extract.

A crime has a named suspect when its outcome implies one (a charge, a caution, a victim who
does not support action against a named suspect...), for every domestic abuse crime (the
perpetrator) and for a share of the open ones. Non-DA suspects come from an offender
population with very unequal activity (prolific shoplifters and the like), a few crimes have
co-suspects, and a share of violence victims are themselves suspects of some other crime
(the victim-offender overlap). A suspect's role follows the outcome: ``charged`` for type 1,
``offender`` for cautions, TICs and community resolutions, ``suspect`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chi.generate.crimes import STATUS_RECORDED, Crimes
from chi.generate.people import ROLE_OFFENDER, People
from chi.generate.sources import Sources

OUTCOME_TYPES: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "Investigation complete; no suspect identified": ((18,), (1.0,)),
    "Unable to prosecute suspect": ((14, 15, 16), (0.5, 0.2, 0.3)),
    "Court result unavailable": ((1, 15), (0.88, 0.12)),
    "Awaiting court outcome": ((1,), (1.0,)),
    "Suspect charged as part of another case": ((4,), (1.0,)),
    "Offender given a caution": ((3, 2), (0.85, 0.15)),
    "Local resolution": ((8,), (1.0,)),
    "Formal action is not in the public interest": ((10,), (1.0,)),
    "Further action is not in the public interest": ((9,), (1.0,)),
    "Further investigation is not in the public interest": ((21,), (1.0,)),
    "Action to be taken by another organisation": ((20,), (1.0,)),
    "Status update unavailable": ((15, 16, 18), (0.3, 0.4, 0.3)),
}
DELAY_MEDIAN_DAYS = {18: 12, 14: 30, 15: 40, 16: 35, 1: 50, 4: 60, 2: 30, 3: 30, 8: 20, 20: 15}
DEFAULT_DELAY_DAYS = 40
STILL_OPEN_SHARE = 0.015
NAMED_TYPES = frozenset({1, 2, 3, 4, 8, 9, 10, 15, 16, 21})
OFFENDER_TYPES = frozenset({2, 3, 4, 6, 7, 8})
NAMED_WHEN_OPEN = 0.1
NAMED_WHEN_OTHER_BODY = 0.5
CO_SUSPECTS_P = np.array([0.86, 0.11, 0.03])
OFFENDERS_PER_NAMED_CRIME = 0.5
OFFENDER_ACTIVITY_SHAPE = 0.35
VICTIM_OFFENDER_OVERLAP = 0.09

ROLE_SUSPECT, ROLE_OFFENDER_NAMED, ROLE_CHARGED = 0, 1, 2


def assign_outcomes(rng: np.random.Generator, crimes: Crimes, src: Sources, as_of_day: int) -> None:
    n = len(crimes)
    outcome = np.zeros(n, dtype=np.int64)
    for ci, category in enumerate(src.categories):
        rows = np.flatnonzero(crimes.category == ci)
        if not len(rows):
            continue
        types: dict[int, float] = {}
        for police_uk, count in sorted(src.outcomes.get(category, {}).items()):
            codes, shares = OUTCOME_TYPES[police_uk]
            for code, share in zip(codes, shares, strict=True):
                types[code] = types.get(code, 0.0) + count * share
        codes_arr = np.array(sorted(types))
        p = np.array([types[c] for c in codes_arr.tolist()])
        outcome[rows] = codes_arr[rng.choice(len(codes_arr), size=len(rows), p=p / p.sum())]
    outcome = np.where(crimes.da & np.isin(outcome, [14, 18]), 16, outcome)

    median = np.array([DELAY_MEDIAN_DAYS.get(c, DEFAULT_DELAY_DAYS) for c in range(23)])
    delay = np.round(median[outcome] * rng.lognormal(0.0, 0.9, size=n)).astype(np.int64)
    outcome_day = crimes.day + delay
    known = (
        (crimes.status == STATUS_RECORDED)
        & (outcome_day <= as_of_day)
        & (rng.random(n) >= STILL_OPEN_SHARE)
    )
    crimes.outcome = np.where(known, outcome, 0)
    crimes.outcome_day = np.where(known, outcome_day, 0)


@dataclass
class SuspectRows:
    crime: np.ndarray
    person: np.ndarray
    role: np.ndarray


def role_for(outcome: np.ndarray) -> np.ndarray:
    return np.where(
        outcome == 1,
        ROLE_CHARGED,
        np.where(np.isin(outcome, list(OFFENDER_TYPES)), ROLE_OFFENDER_NAMED, ROLE_SUSPECT),
    )


def named_suspects(
    rng: np.random.Generator,
    crimes: Crimes,
    people: People,
    overlap_candidates: np.ndarray,
    overlap_crime_ok: np.ndarray,
    victims_crime: np.ndarray,
    victims_person: np.ndarray,
) -> SuspectRows:
    """Suspects of non-DA crimes. ``overlap_candidates``: persons (violence victims) some of
    whom become suspects of another crime; ``overlap_crime_ok``: crimes they may be named on."""
    n = len(crimes)
    out = crimes.outcome
    u = rng.random(n)
    named = (~crimes.da) & (
        np.isin(out, list(NAMED_TYPES))
        | ((out == 20) & (u < NAMED_WHEN_OTHER_BODY))
        | ((out == 0) & (crimes.status == STATUS_RECORDED) & (u < NAMED_WHEN_OPEN))
    )
    crime_rows = np.flatnonzero(named)
    n_named = len(crime_rows)
    pool = max(1, int(OFFENDERS_PER_NAMED_CRIME * n_named))
    activity = rng.gamma(OFFENDER_ACTIVITY_SHAPE, 1.0, size=pool)
    activity /= activity.sum()
    size = rng.choice(len(CO_SUSPECTS_P), size=n_named, p=CO_SUSPECTS_P) + 1
    crime = np.repeat(crime_rows, size)
    rank = np.arange(len(crime)) - np.repeat(np.cumsum(size) - size, size)
    pool = max(pool, 3)
    activity = np.r_[activity, np.zeros(pool - len(activity))]
    who = rng.choice(pool, size=len(crime), p=activity)
    primary = np.repeat(who[rank == 0], size)
    off1 = rng.integers(1, pool, size=len(crime))
    off2 = rng.integers(1, pool - 1, size=len(crime))
    off2 = np.where(off2 >= np.roll(off1, 1), off2 + 1, off2)
    who = np.where(rank == 1, (primary + off1) % pool, who)
    who = np.where(rank == 2, (primary + off2) % pool, who)
    primary_role = role_for(out[crime])
    co_charged = rng.random(len(crime)) < 0.7
    role = np.where(
        (rank > 0) & (primary_role == ROLE_CHARGED) & ~co_charged, ROLE_SUSPECT, primary_role
    )

    person = np.full(len(crime), -1, dtype=np.int64)
    if len(overlap_candidates):
        k = round(VICTIM_OFFENDER_OVERLAP * len(overlap_candidates))
        chosen = rng.choice(overlap_candidates, size=k, replace=False)
        slots = np.flatnonzero((rank == 0) & overlap_crime_ok[crime])
        k = min(k, len(slots))
        target = np.sort(rng.choice(slots, size=k, replace=False))
        # Not named on a crime of their own: (crime, person) pairs as one integer each.
        width = int(max(victims_person.max(initial=0), chosen.max(initial=0))) + 1
        own = victims_crime.astype(np.int64) * width + victims_person
        ok = ~np.isin(crime[target].astype(np.int64) * width + chosen[:k], own)
        person[target[ok]] = chosen[:k][ok]

    from_pool = person < 0
    used = np.unique(who[from_pool])
    pool_person = np.full(pool, -1, dtype=np.int64)
    pool_person[used] = people.add(ROLE_OFFENDER, len(used))
    person[from_pool] = pool_person[who[from_pool]]
    return SuspectRows(crime, person, role)
