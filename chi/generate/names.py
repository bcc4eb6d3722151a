"""Realistic, deterministic names for synthetic people and organisations.

Names come from chi's own short lists in ``data/names/`` (common forenames by sex and
surnames, each tagged with a broad origin, most common first), so the demo reads like a real
nominal index of the East of England without anyone's real record in it. A person's
ethnicity and home district pick the origin mix (Peterborough and Fenland have large Eastern
European communities, Cambridge a broad international one); forename and surname usually
share an origin, and common names are more likely than rare ones.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chi.contract import ETHNICITIES
from chi.generate.sources import load_names

ORIGINS = (
    "british",
    "irish",
    "eastern_european",
    "southern_european",
    "south_asian",
    "east_asian",
    "african",
    "middle_eastern",
)

SAME_ORIGIN_SHARE = 0.85
"""Share of people whose forename and surname come from the same origin list."""

_WHITE_BY_DISTRICT = {
    "Peterborough": (0.74, 0.03, 0.20, 0.03),
    "Fenland": (0.82, 0.02, 0.14, 0.02),
    "Cambridge": (0.80, 0.04, 0.08, 0.08),
}
_WHITE_ELSEWHERE = (0.90, 0.03, 0.05, 0.02)

_SURNAME_ORIGIN = {
    "asian": {"south_asian": 0.88, "east_asian": 0.12},
    "black": {"african": 0.6, "british": 0.4},
    "mixed": {"british": 0.6, "african": 0.15, "south_asian": 0.15, "eastern_european": 0.1},
    "other": {"middle_eastern": 0.55, "east_asian": 0.2, "southern_european": 0.25},
}
_FORENAME_ORIGIN = {
    **_SURNAME_ORIGIN,
    "mixed": {"british": 0.8, "african": 0.1, "south_asian": 0.1},
}


def _zipf(n: int) -> np.ndarray:
    w = 1.0 / (np.arange(n) + 5.0)
    return np.asarray(w / w.sum(), dtype=np.float64)


def _origin_table(table: dict[str, dict[str, float]], eth: str) -> np.ndarray:
    p = np.zeros(len(ORIGINS))
    for origin, share in table[eth].items():
        p[ORIGINS.index(origin)] = share
    return p


def _pick_origins(
    rng: np.random.Generator,
    ethnicity: np.ndarray,
    district: np.ndarray,
    districts: tuple[str, ...],
    table: dict[str, dict[str, float]],
) -> np.ndarray:
    n = len(ethnicity)
    origin = np.zeros(n, dtype=np.int64)
    white = ETHNICITIES.index("white")
    for e, eth in enumerate(ETHNICITIES):
        rows = np.flatnonzero(ethnicity == e)
        if not len(rows):
            continue
        if e == white:
            for d in range(-1, len(districts)):
                sub = rows[district[rows] == d]
                if not len(sub):
                    continue
                mix = _WHITE_BY_DISTRICT.get(districts[d], _WHITE_ELSEWHERE) if d >= 0 else None
                p = np.zeros(len(ORIGINS))
                p[:4] = mix if mix is not None else _WHITE_ELSEWHERE
                origin[sub] = rng.choice(len(ORIGINS), size=len(sub), p=p / p.sum())
        elif eth in table:
            p = _origin_table(table, eth)
            origin[rows] = rng.choice(len(ORIGINS), size=len(rows), p=p / p.sum())
    return origin


def person_names(
    rng: np.random.Generator,
    sex: np.ndarray,
    ethnicity: np.ndarray,
    district: np.ndarray,
    districts: tuple[str, ...],
) -> pl.Series:
    """'Forename Surname' for each person. ``sex``: 0 F, 1 M, 2 X; ``ethnicity``: index
    into ``ETHNICITIES`` with ``not_stated`` already resolved to an underlying group;
    ``district``: index into ``districts`` or -1."""
    lists = load_names()
    n = len(sex)
    fore_origin = _pick_origins(rng, ethnicity, district, districts, _FORENAME_ORIGIN)
    sur_origin = _pick_origins(rng, ethnicity, district, districts, _SURNAME_ORIGIN)
    same = (rng.random(n) < SAME_ORIGIN_SHARE) & (ethnicity != ETHNICITIES.index("mixed"))
    sur_origin = np.where(same, fore_origin, sur_origin)
    name_sex = np.where(sex == 2, rng.integers(0, 2, size=n), sex)
    # Each name is an index into one list of every pool's names, joined as text at the end
    # (no Python string per person: at national scale that is millions of objects).
    forenames: list[str] = []
    surnames: list[str] = []
    forename = np.zeros(n, dtype=np.int64)
    surname = np.zeros(n, dtype=np.int64)
    for o, origin in enumerate(ORIGINS):
        for s, letter in enumerate(("F", "M")):
            rows = np.flatnonzero((fore_origin == o) & (name_sex == s))
            pool = lists.forenames.get((letter, origin)) or lists.forenames[(letter, "british")]
            forename[rows] = len(forenames) + rng.choice(
                len(pool), size=len(rows), p=_zipf(len(pool))
            )
            forenames += pool
        rows = np.flatnonzero(sur_origin == o)
        pool = lists.surnames.get(origin) or lists.surnames["british"]
        surname[rows] = len(surnames) + rng.choice(len(pool), size=len(rows), p=_zipf(len(pool)))
        surnames += pool
    fore = pl.Series(forenames, dtype=pl.String).gather(forename)
    return fore + " " + pl.Series(surnames, dtype=pl.String).gather(surname)


def organisation_names(rng: np.random.Generator, kinds: tuple[str, ...], n: int) -> np.ndarray:
    """``n`` draws among the national and regional organisations of ``kinds``, by weight."""
    orgs = [o for o in load_names().organisations if o[1] in kinds]
    w = np.array([o[2] for o in orgs])
    pick = rng.choice(len(orgs), size=n, p=w / w.sum())
    return np.array([o[0] for o in orgs], dtype=object)[pick]


def local_business_names(rng: np.random.Generator, places: np.ndarray, n: int) -> np.ndarray:
    """``n`` local businesses and community buildings, named after a surname or the place."""
    lists = load_names()
    patterns = lists.business_patterns
    w = np.array([p[1] for p in patterns])
    pick = rng.choice(len(patterns), size=n, p=w / w.sum())
    british = lists.surnames["british"]
    sur = np.array(british, dtype=object)[rng.choice(len(british), size=n, p=_zipf(len(british)))]
    return np.array(
        [
            patterns[k][0].format(surname=s, place=p)
            for k, s, p in zip(pick.tolist(), sur.tolist(), places.tolist(), strict=True)
        ],
        dtype=object,
    )
