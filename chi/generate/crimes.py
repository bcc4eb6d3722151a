"""Crimes before anyone is attached to them: when, what, where, and who the victim must be.

Volume and seasonality come from the 2024 monthly totals (a month of any year reuses the same
calendar month of 2024), the category mix from the same table, the place from the 2024
LSOA x category counts (including crimes with no location or one outside the force), the Home
Office code from the 2017/18 mix and the fine offence key from ``offences``. Each crime also
gets the kind of victim its offence implies, the domestic abuse and hate qualifiers, its
status and its occurred date. People are attached later (``victims``, ``domestic``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from chi.generate.offences import (
    VICTIM_ADULT,
    VICTIM_CHILD,
    VICTIM_NONE,
    VICTIM_ORG,
    Catalogue,
)
from chi.generate.sources import OUTSIDE_FORCE, Sources

STATUS_RECORDED, STATUS_CANCELLED, STATUS_TRANSFERRED = 0, 1, 2
"""Positions in ``chi.contract.CRIME_STATUSES``."""
CANCELLED_SHARE = 0.03
TRANSFERRED_SHARE = 0.01
HATE_SHARE_OTHER = 0.02
"""Hate qualifier on person-victim violence, public order and damage beyond the aggravated codes."""

SEXUAL_CODES = frozenset(
    {"19C", "19D", "19E", "19F", "19G", "19H", "20A", "20B", "17A", "17B", "21", "22A", "22B"}
    | {"23", "71", "73", "88A", "88C", "70"}
)

OUTSIDE_LSOAS = tuple(
    f"E0{block}{n:02d}"
    for block in ("10264", "10265", "10300", "10301", "10237", "10221", "10268", "10272")
    for n in range(0, 100, 7)
)
"""LSOA-shaped codes of neighbouring forces' areas (Norfolk, Suffolk, Hertfordshire, Essex,
Lincolnshire, Northamptonshire): a crime the force recorded that happened over the border."""


def month_days(start: date, months: int) -> list[tuple[int, int, int, int]]:
    """(year, month, first day, days in month) for each month, days since 1970-01-01."""
    out = []
    y, m = start.year, start.month
    for _ in range(months):
        first = (date(y, m, 1) - date(1970, 1, 1)).days
        out.append((y, m, first, calendar.monthrange(y, m)[1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass
class Crimes:
    """Column arrays, one row per crime, in generation order (not yet sorted by key)."""

    day: np.ndarray
    category: np.ndarray
    key: np.ndarray
    place: np.ndarray
    """Index into ``Sources.place_codes``; ``-1`` for an outside code in ``outside``."""
    outside: np.ndarray
    status: np.ndarray
    victim_kind: np.ndarray
    da: np.ndarray
    hate: np.ndarray
    occurred_offset: np.ndarray
    """Days between occurrence and recording; -1 = occurred date unknown."""
    da_relationship: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    outcome: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    outcome_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    drop_offence_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    drop_ho_class: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.day)

    def move_offences(self, slots: np.ndarray, source: np.ndarray) -> None:
        """Crime ``slots[i]`` takes the offence (and its place) of ``slots[source[i]]``."""
        for name in ("key", "category", "place", "outside", "hate", "occurred_offset"):
            column = getattr(self, name)
            column[slots] = column[slots[source]]


def daily_intensity(src: Sources, first_day: int, last_day: int) -> np.ndarray:
    """Expected crimes per day at scale 1, for days ``first_day..last_day`` inclusive."""
    days = np.arange(first_day, last_day + 1)
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    cal = months.astype(np.int64) % 12
    length = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
        np.int64
    )
    per_month = src.month_category.sum(axis=1)
    return np.asarray(per_month[cal] / length, dtype=np.float64)


def generate_crimes(
    rng: np.random.Generator,
    src: Sources,
    cat: Catalogue,
    start: date,
    months: int,
    scale: float,
) -> Crimes:
    inflate = 1.0 / (1.0 - CANCELLED_SHARE - TRANSFERRED_SHARE)
    day_parts: list[np.ndarray] = []
    cat_parts: list[np.ndarray] = []
    for _year, month, first, ndays in month_days(start, months):
        expected = src.month_category[month - 1] * scale * inflate
        counts = rng.poisson(expected)
        cats = np.repeat(np.arange(len(src.categories)), counts)
        day_parts.append(first + rng.integers(0, ndays, size=len(cats)))
        cat_parts.append(cats)
    day = np.concatenate(day_parts)
    category = np.concatenate(cat_parts)
    n = len(day)

    place = np.zeros(n, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    for ci in range(len(src.categories)):
        rows = np.flatnonzero(category == ci)
        if not len(rows):
            continue
        p = src.place_category[:, ci]
        place[rows] = rng.choice(len(p), size=len(rows), p=p / p.sum())
        codes, code_p = cat.category_codes[ci]
        code_pick = rng.choice(len(codes), size=len(rows), p=code_p)
        for j, code in enumerate(codes):
            sub = rows[code_pick == j]
            if len(sub):
                idx, kp = cat.code_keys[code]
                key[sub] = idx[rng.choice(len(idx), size=len(sub), p=kp)]

    outside = np.full(n, "", dtype=object)
    out_rows = np.flatnonzero(place == src.place_codes.index(OUTSIDE_FORCE))
    outside[out_rows] = np.array(OUTSIDE_LSOAS, dtype=object)[
        rng.integers(0, len(OUTSIDE_LSOAS), size=len(out_rows))
    ]

    u = rng.random(n)
    status = np.where(
        u < CANCELLED_SHARE,
        STATUS_CANCELLED,
        np.where(u < CANCELLED_SHARE + TRANSFERRED_SHARE, STATUS_TRANSFERRED, STATUS_RECORDED),
    )

    u = rng.random(n)
    p_none, p_org = cat.p_none[key], cat.p_org[key]
    victim_kind = np.where(
        cat.child[key],
        VICTIM_CHILD,
        np.where(u < p_none, VICTIM_NONE, np.where(u < p_none + p_org, VICTIM_ORG, VICTIM_ADULT)),
    )
    person = (victim_kind == VICTIM_ADULT) | (victim_kind == VICTIM_CHILD)
    da = person & (rng.random(n) < cat.p_da[key])

    hate_eligible = person & np.isin(
        category,
        [
            src.category_index(c)
            for c in ("Violence and sexual offences", "Public order", "Criminal damage and arson")
        ],
    )
    hate = cat.hate[key] | (hate_eligible & ~da & (rng.random(n) < HATE_SHARE_OTHER))

    sexual = np.array([c in SEXUAL_CODES for c in cat.ho_code])[key]
    occurred_offset = _occurred_offsets(rng, n, sexual)
    return Crimes(
        day=day,
        category=category,
        key=key,
        place=place,
        outside=outside,
        status=status,
        victim_kind=victim_kind,
        da=da,
        hate=hate,
        occurred_offset=occurred_offset,
    )


def _occurred_offsets(rng: np.random.Generator, n: int, sexual: np.ndarray) -> np.ndarray:
    """Mostly the same day or days before; some unknown; a few historic (years before)."""
    u = rng.random(n)
    historic_p = np.where(sexual, 0.25, 0.01)
    offset = np.zeros(n, dtype=np.int64)
    week = (u >= 0.55) & (u < 0.83)
    offset[week] = rng.integers(1, 8, size=int(week.sum()))
    months = (u >= 0.83) & (u < 0.95)
    offset[months] = rng.integers(8, 120, size=int(months.sum()))
    unknown = u >= 0.95
    offset[unknown] = -1
    historic = rng.random(n) < historic_p
    offset[historic] = rng.integers(366, 25 * 365, size=int(historic.sum()))
    return offset
