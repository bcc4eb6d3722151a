"""Victims of everything that is not domestic abuse: people, children, the dead and shops.

- Adults: victimisation histories (``chains``) with a persistent, heavy-tailed frailty and
  a decaying boost after each victimisation, so harm concentrates on a few victims, repeats
  come soon after the previous crime, and the risk of a further victimisation rises with
  every prior one with no cap. Heavier offences go a little more often to frailer victims
  (``SEVERITY_RHO``): index harm carries some signal, but most of a year's most harmed
  victims are not among the next year's.
- Children: offences defined by the victim's age get a child of that age at the time the
  offence occurred (which may be years ago for a historic report).
- Homicides: a victim of their own who died on the day of the offence.
- Organisations: most shoplifting, business burglary and theft from businesses; a chain
  store's branch or a local business or community building in the crime's LSOA is the victim,
  so a busy shop is a heavily repeated victim, as in real data.
- A few per cent of crimes have more than one victim (a family, two door staff); the extra
  victims are new people living where the crime happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chi.generate.chains import ChainModel, assign, correlate_severity, merge_counts
from chi.generate.crimes import Crimes
from chi.generate.names import local_business_names, organisation_names
from chi.generate.offences import Catalogue
from chi.generate.people import (
    ROLE_CHILD,
    ROLE_GENERAL,
    ROLE_ORGANISATION,
    UNSET,
    People,
)
from chi.generate.sources import Sources, load_names

VICTIM_MODEL = ChainModel(
    frailty_sigma=1.8,
    base_per_year=0.025,
    branching=0.08,
    fast_share=0.6,
    fast_days=10.0,
    slow_days=200.0,
)
SEVERITY_RHO = 0.15
"""How strongly a month's heavier offences go to the victims of higher frailty (rank
correlation). Was 0.05, which left severity carrying almost no signal for later
victimisation; much higher makes this year's most harmed victims next year's too, against
the research (calibration band: at most 15% of the top 1% stay in it)."""
CHILD_COUNTS_SHARE = 0.05
"""Share of child offences recorded as a further count of a report about the same child."""
MULTI_VICTIM_SHARE = 0.045
EXTRA_VICTIMS_P = np.array([0.8, 0.15, 0.05])
LOCAL_BUSINESSES_PER_LSOA = 6

ORG_SOURCES: dict[str, tuple[str, ...]] = {
    "46": ("retail",),
    "34A": ("retail", "fuel"),
    "49A": ("fuel", "hospitality"),
    "41": ("retail", "hospitality"),
    "47": ("retail", "hospitality", "transport"),
    "43": ("utility",),
    "58B": ("public",),
}
"""Home Office codes whose organisation victims are mostly national names."""
NATIONAL_SHARE = {"58B": 0.2}


@dataclass
class VictimRows:
    crime: np.ndarray
    person: np.ndarray
    report: np.ndarray | None = None
    """For counts merged into one report: the index (into these rows) of the report."""


def adult_chains(
    rng: np.random.Generator,
    crimes: Crimes,
    cat: Catalogue,
    people: People,
    slots: np.ndarray,
    intensity: np.ndarray,
    first_day: int,
) -> VictimRows:
    chains = assign(rng, VICTIM_MODEL, crimes.day[slots], intensity, first_day)
    source = correlate_severity(
        rng,
        slots,
        crimes.day[slots],
        chains.frailty[chains.chain],
        cat.weight[crimes.key[slots]],
        SEVERITY_RHO,
    )
    crimes.move_offences(slots, source)
    chain = chains.chain
    used = np.unique(chain)
    person_of = np.full(chains.count, -1, dtype=np.int64)
    person_of[used] = people.add(ROLE_GENERAL, len(used))
    return VictimRows(slots, person_of[chain])


def child_victims(
    rng: np.random.Generator, crimes: Crimes, cat: Catalogue, people: People, slots: np.ndarray
) -> VictimRows:
    """A child per report, of the age the offence implies when it occurred; a report often
    holds several counts of the same offence against the same child."""
    month = crimes.day[slots].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    codes = sorted(set(cat.ho_code))
    code = np.array([codes.index(c) for c in cat.ho_code], dtype=np.int64)[crimes.key[slots]]
    group = (month * 1_000 + code) * 2 + crimes.da[slots]
    into = merge_counts(rng, group, np.ones(len(slots), dtype=bool), CHILD_COUNTS_SHARE)
    crimes.day[slots] = crimes.day[slots[into]]
    crimes.occurred_offset[slots] = crimes.occurred_offset[slots[into]]
    offset = np.maximum(crimes.occurred_offset[slots], 0)
    when = crimes.day[slots] - offset
    lo = cat.child_age[crimes.key[slots], 0]
    hi = cat.child_age[crimes.key[slots], 1]
    age = lo + (rng.random(len(slots)) * (hi - lo + 1)).astype(np.int64)
    birth = when - (age * 365.25).astype(np.int64) - rng.integers(0, 365, size=len(slots))
    reports = np.flatnonzero(into == np.arange(len(slots)))
    person = np.full(len(slots), -1, dtype=np.int64)
    person[reports] = people.add(ROLE_CHILD, len(reports), birth=birth[reports])
    return VictimRows(slots, person[into], into)


def homicide_victims(
    rng: np.random.Generator, crimes: Crimes, cat: Catalogue, people: People, slots: np.ndarray
) -> VictimRows:
    offset = np.maximum(crimes.occurred_offset[slots], 0)
    died = crimes.day[slots] - offset
    child = cat.child[crimes.key[slots]]
    birth = died - rng.integers(20, 360, size=len(slots))
    ids = np.empty(len(slots), dtype=np.int64)
    adults = np.flatnonzero(~child)
    ids[adults] = people.add(ROLE_GENERAL, len(adults), deceased=died[adults])
    kids = np.flatnonzero(child)
    ids[kids] = people.add(ROLE_CHILD, len(kids), birth=birth[kids], deceased=died[kids])
    return VictimRows(slots, ids)


def organisation_victims(
    rng: np.random.Generator,
    crimes: Crimes,
    cat: Catalogue,
    src: Sources,
    people: People,
    slots: np.ndarray,
) -> VictimRows:
    """The branch or local business in the crime's LSOA (or one with no known premises)."""
    n_lsoas = len(src.lsoas)
    place = crimes.place[slots]
    premises = np.where(place < n_lsoas, place, n_lsoas)
    codes = np.array(cat.ho_code, dtype=object)[crimes.key[slots]]
    identity = np.zeros(len(slots), dtype=np.int64)
    names = np.empty(len(slots), dtype=object)
    national = np.zeros(len(slots), dtype=bool)
    national_index = {o[0]: i for i, o in enumerate(load_names().organisations)}
    for code in sorted(ORG_SOURCES):
        rows = np.flatnonzero(codes == code)
        if code in NATIONAL_SHARE:
            rows = rows[rng.random(len(rows)) < NATIONAL_SHARE[code]]
        if not len(rows):
            continue
        names[rows] = organisation_names(rng, ORG_SOURCES[code], len(rows))
        identity[rows] = (
            premises[rows] * 100_000
            + 1_000
            + np.array([national_index[str(nm)] for nm in names[rows].tolist()], dtype=np.int64)
        )
        national[rows] = True
    local = np.flatnonzero(~national)
    business = rng.integers(0, LOCAL_BUSINESSES_PER_LSOA, size=len(local))
    identity[local] = premises[local] * 100_000 + business

    uniq, inverse = np.unique(identity, return_inverse=True)
    first = np.full(len(uniq), -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(slots))[::-1]
    org_names = names[first].copy()
    is_local = (uniq % 100_000) < 1_000
    ward = np.array([*src.lsoa_neighbourhood, "Cambridgeshire"], dtype=object)
    local_rows = np.flatnonzero(is_local)
    if len(local_rows):
        org_names[local_rows] = local_business_names(
            rng, ward[uniq[local_rows] // 100_000], len(local_rows)
        )
    home = np.where(uniq // 100_000 < n_lsoas, uniq // 100_000, -1)
    ids = people.add(ROLE_ORGANISATION, len(uniq), home=home, org_name=org_names)
    return VictimRows(slots, ids[inverse])


def extra_victims(
    rng: np.random.Generator, crimes: Crimes, people: People, candidates: np.ndarray, n_lsoas: int
) -> VictimRows:
    """Additional victims for a few per cent of crimes that already have one."""
    chosen = candidates[rng.random(len(candidates)) < MULTI_VICTIM_SHARE]
    extra = rng.choice(len(EXTRA_VICTIMS_P), size=len(chosen), p=EXTRA_VICTIMS_P) + 1
    crime = np.repeat(chosen, extra)
    place = crimes.place[crime]
    home = np.where(place < n_lsoas, place, -1)
    home = np.where(rng.random(len(crime)) < 0.7, home, UNSET)
    ids = people.add(ROLE_GENERAL, len(crime), home=home)
    return VictimRows(crime, ids)
