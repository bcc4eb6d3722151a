"""What each offence means for the synthetic data: how common it is, who its victim is.

The calibration tables stop at the Home Office code; the CHI table below it lists every
variant (ABH next to assault on a constable with ABH, every attempt). This module decides,
for every fine offence key the generator may write:

- how often it is chosen within its Home Office code (``KEY_SHARES``: the ordinary offence
  far more often than the rare variant, attempts rare);
- its kind of victim: none (drugs, weapons), an organisation (shoplifting, business
  burglary), a child (offences defined by the victim's age) or an individual adult;
- how likely it is to be flagged domestic abuse, and whether it is a hate crime by definition;
- the victim's sex or age where the offence itself states it, and whether the victim died.

These are judgement calls from the offence titles and the research the calibration cites;
they are kept in one table so that a reviewer can read and change them in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from chi.generate.sources import Sources

VICTIM_NONE, VICTIM_ORG, VICTIM_CHILD, VICTIM_ADULT = 0, 1, 2, 3

KEY_SHARES: dict[str, float] = {
    # Violence without injury: common assault; coercive control is a real minority.
    "105A.105.1.0": 0.87,
    "105.8.67.0": 0.07,
    "105A.8.73.0": 0.04,
    # Violence with injury: ABH is the ordinary case; s20 wounding and GBH a minority.
    "8N.8.6.0": 0.85,
    "8N.8.1.2": 0.06,
    "8N.8.1.1": 0.03,
    "8N.8.21.1": 0.015,
    "8N.8.21.0": 0.005,
    "8N.8.20.0": 0.01,
    "8N.8.69.0": 0.003,
    "8N.8.2.0": 0.002,
    "8N.8.4.0": 0.002,
    "8N.8.52.0": 0.0003,
    "104.8.73.0": 0.9,
    "8S.8.6.0": 0.6,
    "8S.8.1.2": 0.2,
    "8S.8.1.1": 0.08,
    "8S.5.1.0": 0.04,
    "5D.5.1.0": 0.96,
    "3B.3.1.0": 0.98,
    "105B.8.57.0": 0.97,
    "8P.8.60.0": 0.85,
    "8P.8.59.0": 0.13,
    # Harassment, stalking, malicious communications.
    "8L.195.94.0": 0.55,
    "8L.8.31.0": 0.2,
    "8L.8.30.0": 0.12,
    "8L.8.29.0": 0.06,
    "8L.125.68.0": 0.05,
    "8R.8.72.0": 0.9,
    "8R.8.71.0": 0.08,
    "8Q.195.12.0": 0.4,
    "8Q.8.65.0": 0.3,
    "8Q.8.66.0": 0.28,
    "8M.8.56.0": 0.7,
    "8M.8.58.0": 0.28,
    # Sexual offences.
    "19C.19.8.0": 0.9,
    "19C.19.12.0": 0.1,
    "19D.19.7.0": 0.9,
    "19D.19.11.0": 0.1,
    "19E.19.16.0": 0.9,
    "19E.19.18.0": 0.1,
    "19F.19.10.0": 0.9,
    "19F.19.14.0": 0.1,
    "19G.19.9.0": 0.9,
    "19G.19.13.0": 0.1,
    "19H.19.17.0": 0.9,
    "19H.19.19.0": 0.1,
    "20A.20.5.0": 0.86,
    "20A.20.3.0": 0.12,
    "20B.20.6.0": 0.8,
    "20B.20.4.0": 0.18,
    "17A.17.15.0": 0.85,
    "17A.17.13.0": 0.13,
    "17B.17.16.0": 0.8,
    "17B.17.14.0": 0.18,
    "22B.22.18.0": 0.2,
    "22B.22.6.0": 0.15,
    "22B.22.20.0": 0.1,
    "22B.22.12.0": 0.1,
    "22B.22.22.0": 0.1,
    "22B.22.10.0": 0.05,
    "22B.22.11.0": 0.05,
    "22B.22.8.0": 0.05,
    "21.21.3.0": 0.2,
    "21.21.2.0": 0.12,
    "21.21.10.0": 0.12,
    "21.21.11.0": 0.12,
    "21.21.22.0": 0.1,
    "21.21.12.0": 0.04,
    "88A.71.17.0": 0.8,
    "88A.88.1.0": 0.12,
    "88A.88.2.0": 0.04,
    "88E.88.9.0": 0.6,
    "88E.88.10.0": 0.25,
    "88E.88.12.0": 0.13,
    "11A.11.3.0": 0.95,
    "13.13.1.0": 0.6,
    "13.13.2.0": 0.38,
    "36.36.3.0": 0.6,
    "36.36.1.0": 0.35,
    "36.36.5.0": 0.03,
    "1.1.1.1": 0.7,
    "4.1.4.1.0": 0.27,
    "1.1.2.0": 0.02,
    # Burglary, robbery, theft, vehicle crime.
    "28E.28.3.1": 0.72,
    "28E.28.3.2": 0.28,
    "28G.28.3.1": 0.85,
    "28G.28.3.2": 0.15,
    "29A.29.0.1": 0.8,
    "29A.29.0.2": 0.15,
    "34B.34.1.2": 0.9,
    "34B.34.2.2": 0.05,
    "34A.34.1.1": 0.9,
    "34A.34.2.1": 0.05,
    "44.44.0.0": 0.95,
    "44.137.18.0": 0.04,
    "49.49.10.0": 0.75,
    "49.49.11.0": 0.05,
    "45.45.11.0": 0.05,
    "49.130.02.0": 0.05,
    "49.49.12.0": 0.05,
    "48.48.1.0": 0.75,
    "48.130.1.0": 0.2,
    "126.126.0.0": 0.9,
    "126.825.06.0": 0.08,
    "37.2.37.2.0": 0.7,
    "37.2.131.1.0": 0.15,
    "37.2.131.3.0": 0.13,
    # Criminal damage and arson: under 5,000 pounds is the ordinary case.
    **{f"{g}.149.0.0": 0.86 for g in ("58A", "58B", "58C", "58D")},
    **{f"{g}.58.0.0": 0.1 for g in ("58A", "58B", "58C", "58D")},
    **{f"{g}.57.0.0": 0.01 for g in ("58A", "58B", "58C", "58D")},
    # Public order.
    "9A.125.12.0": 0.5,
    "9A.125.9.0": 0.3,
    "9A.125.11.0": 0.18,
    "9B.125.82.0": 0.55,
    "9B.8.55.0": 0.25,
    "9B.66.91.0": 0.18,
    "66.66.1.0": 0.25,
    "66.66.39.0": 0.25,
    "66.66.38.0": 0.08,
    "66.68.8.0": 0.06,
    "66.66.17.0": 0.05,
    "66.66.21.0": 0.04,
    "66.66.22.0": 0.04,
    "66.66.85.0": 0.04,
    "66.8.32.0": 0.03,
    # Drugs and weapons.
    "92E.92.61.0": 0.9,
    "92E.92.66.0": 0.08,
    "92A.92.81.0": 0.15,
    "92A.92.41.0": 0.12,
    "92A.92.21.0": 0.12,
    "92A.92.30.0": 0.15,
    "92A.92.70.0": 0.12,
    "92A.92.31.0": 0.06,
    "92A.92.34.0": 0.06,
    "92A.92.71.0": 0.04,
    "92A.92.74.0": 0.04,
    "92D.92.50.0": 0.45,
    "92D.92.53.0": 0.1,
    "92D.93.72.0": 0.1,
    "92D.92.65.0": 0.1,
    "10D.8.26.0": 0.88,
    "10D.8.64.0": 0.05,
    "10D.8.27.0": 0.04,
    "10C.8.11.0": 0.85,
    "10C.8.61.0": 0.08,
    "10C.8.28.0": 0.03,
    "10B.81.3.0": 0.3,
    "10B.81.4.0": 0.15,
    "10B.81.17.0": 0.15,
    "10B.81.77.0": 0.15,
    # Other crime.
    "59.59.11.0": 0.96,
    "86.86.2.0": 0.45,
    "86.86.10.0": 0.3,
    "86.86.15.0": 0.08,
    "79.79.1.0": 0.4,
    "79.79.2.0": 0.2,
    "79.79.4.0": 0.2,
    "69.69.3.0": 0.4,
    "69.69.5.0": 0.3,
    "69.69.2.0": 0.15,
    "54.54.1.0": 0.7,
    "54.54.2.0": 0.3,
}
"""Share of a key within its Home Office code; unlisted keys share what is left."""

ATTEMPT_SHARE = 0.01
"""Share of each attempt key that ``KEY_SHARES`` does not list."""

VICTIM_KIND: dict[str, tuple[float, float]] = {
    # ho_code: (P(no victim), P(organisation)); the rest is an individual.
    "46": (0.0, 0.96),
    "30C": (0.0, 0.9),
    "30D": (0.0, 0.9),
    "31A": (0.0, 0.9),
    "34A": (0.0, 0.85),
    "41": (0.0, 0.95),
    "47": (0.0, 0.9),
    "49A": (0.0, 0.92),
    "43": (0.0, 0.85),
    "58B": (0.0, 0.7),
    "49": (0.0, 0.12),
    "56B": (0.0, 0.2),
    "61": (0.3, 0.4),
    "92A": (1.0, 0.0),
    "92C": (1.0, 0.0),
    "92D": (1.0, 0.0),
    "92E": (1.0, 0.0),
    "10A": (0.8, 0.0),
    "10B": (1.0, 0.0),
    "10C": (0.9, 0.0),
    "10D": (0.95, 0.0),
    "33": (1.0, 0.0),
    "33A": (0.9, 0.0),
    "54": (0.9, 0.0),
    "69": (1.0, 0.0),
    "80": (1.0, 0.0),
    "802": (0.8, 0.0),
    "814": (0.8, 0.1),
    "95": (1.0, 0.0),
    "99": (0.7, 0.1),
    "86": (0.8, 0.0),
    "24": (0.5, 0.0),
    "27": (1.0, 0.0),
    "38": (1.0, 0.0),
    "67": (0.8, 0.0),
    "26": (0.5, 0.0),
    "96": (1.0, 0.0),
    "62A": (0.7, 0.0),
    "66": (0.45, 0.0),
    "9A": (0.4, 0.0),
    "9B": (0.1, 0.0),
    "59": (0.3, 0.1),
    "79": (0.3, 0.0),
    "83": (1.0, 0.0),
    "104": (0.0, 0.0),
}

DA_SHARE: dict[str, float] = {
    # ho_code: P(domestic abuse | the victim is a person).
    "105A": 0.37,
    "8N": 0.31,
    "8L": 0.38,
    "8R": 0.3,
    "8Q": 0.55,
    "3B": 0.45,
    "19C": 0.3,
    "20A": 0.08,
    "5D": 0.12,
    "17A": 0.04,
    "19F": 0.08,
    "22A": 0.25,
    "36": 0.25,
    "88E": 0.02,
    "13": 0.5,
    "11A": 0.45,
    "23": 1.0,
    "58A": 0.3,
    "58D": 0.12,
    "58C": 0.06,
    "56A": 0.2,
    "56B": 0.05,
    "9A": 0.08,
    "66": 0.35,
    "40": 0.15,
    "35": 0.1,
    "79": 0.2,
    "49": 0.03,
    "28E": 0.03,
    "2": 0.2,
    "1/4.1/4.10/4.2": 0.3,
    "19D": 0.1,
    "19E": 0.1,
    "20B": 0.1,
    "21": 0.08,
    "22B": 0.03,
}

DA_KEY_SHARE: dict[str, float] = {
    "105.8.67.0": 1.0,
    "66.66.39.0": 1.0,
    "66.66.97.1": 1.0,
    "13.13.1.0": 1.0,
    "105A.8.73.0": 0.0,
    "105A.8.73.0A": 0.0,
    "8N.8.21.0": 0.0,
    "8N.8.21.1": 0.0,
    "8N.8.22.0": 0.0,
    "8N.8.4.0": 0.0,
    "8N.8.69.0": 0.0,
    "8L.8.31.0": 0.6,
    "66.66.1.0": 0.05,
}

HATE_CODES = frozenset({"8M", "8P", "105B", "9B", "58J"})
DEATH_KEYS = frozenset(
    {"1.1.1.1", "1.1.2.0", "4.1.4.1.0", "4.4.4.4.0", "4.8.4.8.0", "4.9.4.9.0", "37.1.37.1.0"}
)
CHILD_CODES = frozenset(
    {"19D", "19E", "19G", "19H", "20B", "17B", "21", "22B", "71", "88A", "11A", "13", "73"}
)


@dataclass(frozen=True)
class Catalogue:
    """Per fine offence key: everything the generator needs, as aligned arrays."""

    keys: tuple[str, ...]
    ho_class: tuple[str | None, ...]
    weight: np.ndarray
    category: np.ndarray
    """Index into ``Sources.categories``."""
    ho_code: tuple[str, ...]
    p_none: np.ndarray
    p_org: np.ndarray
    child: np.ndarray
    child_age: np.ndarray
    """(min, max) age of the victim in whole years, for child offences."""
    sex: np.ndarray
    """0 = the offence says female, 1 = male, -1 = either."""
    p_da: np.ndarray
    hate: np.ndarray
    death: np.ndarray
    code_keys: dict[str, tuple[np.ndarray, np.ndarray]]
    """ho_code -> (key indices, probabilities)."""
    category_codes: dict[int, tuple[tuple[str, ...], np.ndarray]]
    """category index -> (ho_codes, probabilities from the 2017/18 mix)."""
    female_twin: np.ndarray
    """Key index of the female form of a male-only sexual offence (else itself)."""

    def index(self, key: str) -> int:
        return self.keys.index(key)


def _child_age(title: str) -> tuple[int, int]:
    t = title.lower()
    if re.search(r"under 1\b", t):
        return (0, 0)
    if "under 13" in t:
        return (4, 12)
    if "under 16" in t:
        return (12, 15)
    if "13-17" in t or "13 - 17" in t:
        return (13, 17)
    return (2, 15)


def _sex(title: str) -> int:
    t = title.lower()
    if re.search(r"\bfemale\b", t):
        return 0
    if re.search(r"\bmale\b", t):
        return 1
    return -1


def build_catalogue(src: Sources) -> Catalogue:
    keys: list[str] = []
    owner: list[str] = []
    code_keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for hc in src.ho_codes:
        start = len(keys)
        shares = []
        listed = sum(KEY_SHARES.get(k, 0.0) for k in hc.keys)
        unlisted = [k for k in hc.keys if k not in KEY_SHARES and not src.weights[k].attempt]
        attempts = [k for k in hc.keys if k not in KEY_SHARES and src.weights[k].attempt]
        rest = max(0.0, 1.0 - listed - ATTEMPT_SHARE * len(attempts))
        for k in hc.keys:
            keys.append(k)
            owner.append(hc.code)
            if k in KEY_SHARES:
                shares.append(KEY_SHARES[k])
            elif src.weights[k].attempt:
                shares.append(ATTEMPT_SHARE if unlisted or listed else 1.0)
            else:
                shares.append(max(rest / len(unlisted), 0.002))
        p = np.array(shares, dtype=np.float64)
        code_keys[hc.code] = (np.arange(start, len(keys)), p / p.sum())

    rows = [src.weights[k] for k in keys]
    code_of = {hc.code: hc for hc in src.ho_codes}
    category = np.array([src.category_index(code_of[c].category) for c in owner])
    child = np.array(
        [
            (c in CHILD_CODES) or ("child family member" in w.title)
            for c, w in zip(owner, rows, strict=True)
        ]
    )
    child_age = np.array([_child_age(w.title) for w in rows], dtype=np.int64)
    child |= np.array([bool(re.search(r"under 1\b", w.title.lower())) for w in rows])
    p_da = np.array(
        [DA_KEY_SHARE.get(k, DA_SHARE.get(c, 0.0)) for k, c in zip(keys, owner, strict=True)],
        dtype=np.float64,
    )

    category_codes: dict[int, tuple[tuple[str, ...], np.ndarray]] = {}
    for ci in range(len(src.categories)):
        codes = [hc for hc in src.ho_codes if src.category_index(hc.category) == ci]
        counts = np.array([hc.crimes for hc in codes], dtype=np.float64)
        category_codes[ci] = (tuple(hc.code for hc in codes), counts / counts.sum())

    twins = {
        "17A.17.15.0": "20A.20.5.0",
        "17A.17.15.0A": "20A.20.5.0A",
        "17A.17.13.0": "20A.20.3.0",
        "19F.19.10.0": "19C.19.8.0",
        "19F.19.14.0": "19C.19.12.0",
        "22A.22.3.0": "22A.22.2.0",
        "22A.22.3.0A": "22A.22.2.0A",
        "22A.22.5.0": "22A.22.4.0",
        "17B.17.16.0": "20B.20.6.0",
        "17B.17.16.0A": "20B.20.6.0A",
        "17B.17.14.0": "20B.20.4.0",
        "19G.19.9.0": "19D.19.7.0",
        "19G.19.13.0": "19D.19.11.0",
        "19H.19.17.0": "19E.19.16.0",
        "19H.19.19.0": "19E.19.18.0",
    }
    female_twin = np.arange(len(keys))
    for male, female in twins.items():
        if male in keys and female in keys:
            female_twin[keys.index(male)] = keys.index(female)

    return Catalogue(
        keys=tuple(keys),
        ho_class=tuple(w.ho_class for w in rows),
        weight=np.array([w.weight for w in rows]),
        category=category,
        ho_code=tuple(owner),
        p_none=np.array([VICTIM_KIND.get(c, (0.0, 0.0))[0] for c in owner]),
        p_org=np.array([VICTIM_KIND.get(c, (0.0, 0.0))[1] for c in owner]),
        child=child,
        child_age=child_age,
        sex=np.array([_sex(w.title) for w in rows], dtype=np.int64),
        p_da=p_da,
        hate=np.array([c in HATE_CODES for c in owner]),
        death=np.array([k in DEATH_KEYS for k in keys]),
        code_keys=code_keys,
        category_codes=category_codes,
        female_twin=female_twin,
    )
