"""The synthetic population: who the victims and suspects are.

A person is created by the part of the generator that needs one (a victimisation chain, a
domestic abuse dyad, a child victim, an offender, a shop) with whatever that part knows about
them; everything else is filled in at the end, once each person's crimes are known:

- sex: from the offence where the offence states it (rape of a female), else from the role
  (most domestic abuse victims are women, most offenders men), a tiny share ``X``;
- age: an adult profile by role, children only where the offence or dyad makes them one;
- home: usually the LSOA of the person's first crime, else anywhere in proportion to crime
  (people are spread over LSOAs as crime is), a few per cent unknown;
- ethnicity: the home district's mix (2021 census, rounded), some ``not_stated``;
- name: from ``names``; organisations have a name and a premises LSOA and nothing else.

Only people who appear in the extract are written; ``person_id`` numbers are drawn from the
whole notional population (~900,000 x scale), so they have the gaps a real index has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chi.contract import ETHNICITIES
from chi.generate.names import person_names

UNSET = np.iinfo(np.int64).min
"""A date or attribute not decided yet."""

(
    ROLE_GENERAL,
    ROLE_DA_PARTNER,
    ROLE_DA_FAMILY,
    ROLE_DA_PERPETRATOR,
    ROLE_CHILD,
    ROLE_OFFENDER,
    ROLE_ORGANISATION,
) = range(7)

AGE_PROFILES: dict[int, tuple[tuple[int, int, float], ...]] = {
    ROLE_GENERAL: (
        (12, 15, 0.04),
        (16, 17, 0.03),
        (18, 24, 0.16),
        (25, 34, 0.22),
        (35, 44, 0.19),
        (45, 54, 0.15),
        (55, 64, 0.10),
        (65, 79, 0.08),
        (80, 95, 0.03),
    ),
    ROLE_DA_PARTNER: (
        (16, 17, 0.02),
        (18, 24, 0.18),
        (25, 34, 0.32),
        (35, 44, 0.25),
        (45, 54, 0.14),
        (55, 64, 0.06),
        (65, 85, 0.03),
    ),
    ROLE_DA_FAMILY: (
        (12, 17, 0.15),
        (18, 24, 0.12),
        (25, 44, 0.23),
        (45, 64, 0.25),
        (65, 95, 0.25),
    ),
    ROLE_DA_PERPETRATOR: (
        (16, 17, 0.02),
        (18, 24, 0.17),
        (25, 34, 0.33),
        (35, 44, 0.26),
        (45, 54, 0.14),
        (55, 64, 0.06),
        (65, 85, 0.02),
    ),
    ROLE_OFFENDER: (
        (12, 17, 0.12),
        (18, 24, 0.25),
        (25, 34, 0.30),
        (35, 44, 0.19),
        (45, 54, 0.10),
        (55, 70, 0.04),
    ),
}
AGE_PROFILES[ROLE_CHILD] = ((4, 15, 1.0),)

FEMALE_SHARE = {
    ROLE_GENERAL: 0.48,
    ROLE_DA_PARTNER: 0.8,
    ROLE_DA_FAMILY: 0.6,
    ROLE_DA_PERPETRATOR: 0.2,
    ROLE_CHILD: 0.65,
    ROLE_OFFENDER: 0.18,
}
SEX_X_SHARE = 0.002
HOME_UNKNOWN_SHARE = 0.03
HOME_AT_FIRST_CRIME = {
    ROLE_GENERAL: 0.55,
    ROLE_DA_PARTNER: 0.9,
    ROLE_DA_FAMILY: 0.9,
    ROLE_DA_PERPETRATOR: 0.7,
    ROLE_CHILD: 0.8,
    ROLE_OFFENDER: 0.35,
}
NOT_STATED_SHARE = 0.07

ETHNIC_MIX = {
    # asian, black, mixed, white, other (2021 census, rounded)
    "Cambridge": (0.12, 0.025, 0.045, 0.78, 0.03),
    "East Cambridgeshire": (0.03, 0.01, 0.02, 0.93, 0.01),
    "Fenland": (0.012, 0.006, 0.015, 0.955, 0.012),
    "Huntingdonshire": (0.04, 0.015, 0.025, 0.91, 0.01),
    "Peterborough": (0.13, 0.035, 0.035, 0.76, 0.04),
    "South Cambridgeshire": (0.06, 0.012, 0.025, 0.89, 0.013),
}


class People:
    """A growing register of persons; attributes not known at creation stay ``UNSET``."""

    def __init__(self) -> None:
        self._role: list[np.ndarray] = []
        self._sex: list[np.ndarray] = []
        self._birth: list[np.ndarray] = []
        self._home: list[np.ndarray] = []
        self._deceased: list[np.ndarray] = []
        self._org_name: list[np.ndarray] = []
        self.n = 0

    def add(
        self,
        role: int,
        n: int,
        *,
        sex: np.ndarray | None = None,
        birth: np.ndarray | None = None,
        home: np.ndarray | None = None,
        deceased: np.ndarray | None = None,
        org_name: np.ndarray | None = None,
    ) -> np.ndarray:
        def filled(values: np.ndarray | None) -> np.ndarray:
            if values is None:
                return np.full(n, UNSET, dtype=np.int64)
            return np.asarray(values, dtype=np.int64)

        self._role.append(np.full(n, role, dtype=np.int64))
        self._sex.append(filled(sex))
        self._birth.append(filled(birth))
        self._home.append(filled(home))
        self._deceased.append(filled(deceased))
        self._org_name.append(
            np.full(n, "", dtype=object) if org_name is None else np.asarray(org_name, dtype=object)
        )
        ids = np.arange(self.n, self.n + n)
        self.n += n
        return ids

    def columns(self) -> dict[str, np.ndarray]:
        if not self._role:
            empty = np.zeros(0, dtype=np.int64)
            return {
                "role": empty,
                "sex": empty,
                "birth": empty,
                "home": empty,
                "deceased": empty,
                "org_name": np.zeros(0, dtype=object),
            }
        return {
            "role": np.concatenate(self._role),
            "sex": np.concatenate(self._sex),
            "birth": np.concatenate(self._birth),
            "home": np.concatenate(self._home),
            "deceased": np.concatenate(self._deceased),
            "org_name": np.concatenate(self._org_name),
        }


def draw_ages(rng: np.random.Generator, role: np.ndarray) -> np.ndarray:
    """Whole years of age at the as-of date, by role."""
    age = np.zeros(len(role), dtype=np.int64)
    for r, profile in AGE_PROFILES.items():
        rows = np.flatnonzero(role == r)
        if not len(rows):
            continue
        p = np.array([b[2] for b in profile])
        band = rng.choice(len(profile), size=len(rows), p=p / p.sum())
        lo = np.array([b[0] for b in profile])[band]
        hi = np.array([b[1] for b in profile])[band]
        age[rows] = lo + (rng.random(len(rows)) * (hi - lo + 1)).astype(np.int64)
    return age


@dataclass(frozen=True)
class Finished:
    """Final person columns (aligned with the register's indices)."""

    individual: np.ndarray
    sex: np.ndarray
    """0 F, 1 M, 2 X, -1 none (organisations)."""
    birth: np.ndarray
    """Days since 1970-01-01; UNSET for organisations."""
    ethnicity: np.ndarray
    """Index into ETHNICITIES; -1 for organisations."""
    name_ethnicity: np.ndarray
    home: np.ndarray
    """LSOA index, or -1 unknown."""
    deceased: np.ndarray
    name: pl.Series


def finish(
    rng: np.random.Generator,
    people: People,
    *,
    first_place: np.ndarray,
    sex_constraint: np.ndarray,
    as_of_day: int,
    lsoa_weight: np.ndarray,
    lsoa_district: np.ndarray,
    districts: tuple[str, ...],
) -> Finished:
    """Decide every attribute left ``UNSET``. ``first_place``: LSOA index of each person's
    first crime in the force (-1 none); ``sex_constraint``: 0/1 where an offence fixes it."""
    cols = people.columns()
    role = cols["role"]
    n = len(role)
    individual = role != ROLE_ORGANISATION

    sex = cols["sex"].copy()
    unset = sex == UNSET
    sex = np.where(unset & (sex_constraint >= 0), sex_constraint, sex)
    unset = sex == UNSET
    female_p = np.array([FEMALE_SHARE.get(int(r), 0.5) for r in range(7)])[role]
    drawn = np.where(rng.random(n) < female_p, 0, 1)
    drawn = np.where(rng.random(n) < SEX_X_SHARE, 2, drawn)
    sex = np.where(unset, drawn, sex)
    sex = np.where(individual, sex, -1)

    birth = cols["birth"].copy()
    ages = draw_ages(rng, role)
    drawn_birth = as_of_day - (ages * 365.25).astype(np.int64) - rng.integers(0, 365, size=n)
    birth = np.where((birth == UNSET) & individual, drawn_birth, birth)

    home = cols["home"].copy()
    at_first = np.array([HOME_AT_FIRST_CRIME.get(int(r), 0.5) for r in range(7)])[role]
    anywhere = rng.choice(len(lsoa_weight), size=n, p=lsoa_weight / lsoa_weight.sum())
    chosen = np.where((first_place >= 0) & (rng.random(n) < at_first), first_place, anywhere)
    chosen = np.where(rng.random(n) < HOME_UNKNOWN_SHARE, -1, chosen)
    home = np.where(home == UNSET, chosen, home)

    district = np.where(home >= 0, lsoa_district[np.maximum(home, 0)], -1)
    name_eth = np.zeros(n, dtype=np.int64)
    overall = np.mean([ETHNIC_MIX[d] for d in districts], axis=0)
    for d in range(-1, len(districts)):
        rows = np.flatnonzero(district == d)
        if not len(rows):
            continue
        mix = np.array(ETHNIC_MIX.get(districts[d], overall) if d >= 0 else overall)
        groups = [ETHNICITIES.index(g) for g in ("asian", "black", "mixed", "white", "other")]
        name_eth[rows] = np.array(groups)[rng.choice(5, size=len(rows), p=mix / mix.sum())]
    ethnicity = np.where(
        rng.random(n) < NOT_STATED_SHARE, ETHNICITIES.index("not_stated"), name_eth
    )
    ethnicity = np.where(individual, ethnicity, -1)

    org = np.flatnonzero(~individual)
    name = pl.repeat(None, n, dtype=pl.String, eager=True)
    name.scatter(org, pl.Series(cols["org_name"][org].tolist(), dtype=pl.String))
    ind = np.flatnonzero(individual)
    name.scatter(ind, person_names(rng, sex[ind], name_eth[ind], district[ind], districts))
    deceased = cols["deceased"]
    return Finished(
        individual=individual,
        sex=sex,
        birth=birth,
        ethnicity=ethnicity,
        name_ethnicity=name_eth,
        home=home,
        deceased=deceased,
        name=name,
    )
