"""From options to clean contract tables: the order in which the generator's parts run.

Crimes come first (volume, mix, place), then the people attached to them (domestic abuse
dyads before the other victims, because dyads may reorder their offences and move their
later incidents to the dyad's address), then outcomes and suspects, then the remaining
person attributes, and last the keys (crime and person references) and the tables. The
result is a clean extract: every row valid, sorted by key; defects are added afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from chi.contract import (
    CRIME_STATUSES,
    DA_RELATIONSHIPS,
    DASH_GRADES,
    ETHNICITIES,
    SUSPECT_ROLES,
)
from chi.generate.crimes import (
    STATUS_RECORDED,
    Crimes,
    daily_intensity,
    generate_crimes,
)
from chi.generate.domestic import DomesticRows, attach_dyads, single_dyads
from chi.generate.offences import (
    VICTIM_ADULT,
    VICTIM_CHILD,
    VICTIM_ORG,
    Catalogue,
    build_catalogue,
)
from chi.generate.outcomes import assign_outcomes, named_suspects, role_for
from chi.generate.people import UNSET, Finished, People, finish
from chi.generate.sources import Sources, load_sources
from chi.generate.victims import (
    adult_chains,
    child_victims,
    extra_victims,
    homicide_victims,
    organisation_victims,
)
from chi.progress import Progress

EPOCH = date(1970, 1, 1)
FORCE_PREFIX = "37"
HO_CLASS_MISSING_SHARE = 0.05
OFFENCE_CODE_MISSING_SHARE = 0.015
POPULATION = 900_000


@dataclass
class Built:
    crimes: pl.DataFrame
    """Contract columns plus ``_year`` (the partition: year recorded)."""
    persons: pl.DataFrame
    victims: pl.DataFrame
    """Contract columns plus ``_year`` (the crime's partition)."""
    suspects: pl.DataFrame
    as_of: date


def to_day(d: date) -> int:
    return (d - EPOCH).days


def last_day_of(start: date, months: int) -> date:
    y, m = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(y, m + 1, 1) - timedelta(days=1)


def build(
    rng: np.random.Generator,
    start: date,
    months: int,
    scale: float,
    progress: Progress,
) -> Built:
    src = load_sources()
    cat = build_catalogue(src)
    as_of = last_day_of(start, months)
    as_of_day = to_day(as_of)
    start_day = to_day(start)
    burn_in = 365

    progress("crimes", 0.05)
    crimes = generate_crimes(rng, src, cat, start, months, scale)
    n = len(crimes)
    crimes.da_relationship = np.full(n, -1, dtype=np.int64)
    intensity = daily_intensity(src, start_day - burn_in, as_of_day) * scale

    progress("victims", 0.2)
    people = People()
    n_lsoas = len(src.lsoas)
    attached = _attach_victims(rng, crimes, cat, src, people, intensity, start_day - burn_in)
    v_crime, v_person = attached.victim_crime, attached.victim_person
    sex_constraint = _settle_sex(crimes, cat, people.n, v_crime, v_person)

    progress("outcomes and suspects", 0.4)
    assign_outcomes(rng, crimes, src, as_of_day)
    crime_ok = np.isin(
        crimes.category,
        [
            src.category_index("Violence and sexual offences"),
            src.category_index("Public order"),
            src.category_index("Criminal damage and arson"),
            src.category_index("Robbery"),
            src.category_index("Drugs"),
            src.category_index("Possession of weapons"),
        ],
    )
    named = named_suspects(
        rng, crimes, people, attached.general_violence, crime_ok, v_crime, v_person
    )
    s_crime = np.concatenate([attached.perpetrator_crime, named.crime])
    s_person = np.concatenate([attached.perpetrator, named.person])
    s_role = np.concatenate([role_for(crimes.outcome[attached.perpetrator_crime]), named.role])
    keep = (crimes.status[s_crime] == STATUS_RECORDED) | crimes.da[s_crime]
    s_crime, s_person, s_role = s_crime[keep], s_person[keep], s_role[keep]

    progress("people", 0.55)
    first_place = _first_place(crimes, people.n, n_lsoas, v_crime, v_person, s_crime, s_person)
    lsoa_weight = src.place_category[:n_lsoas].sum(axis=1)
    finished = finish(
        rng,
        people,
        first_place=first_place,
        sex_constraint=np.r_[sex_constraint, np.full(people.n - len(sex_constraint), -1)],
        as_of_day=as_of_day,
        lsoa_weight=lsoa_weight,
        lsoa_district=src.lsoa_district,
        districts=src.districts,
    )

    progress("tables", 0.65)
    _drop_codes(rng, crimes, cat, src)
    crime_ids, crime_year = _crime_ids(rng, crimes)
    person_ids = _person_ids(rng, people.n, scale)
    # The tables are built one at a time, each from columns already in key order, and what
    # each needed is dropped before the next: at national scale the numpy columns, the
    # frames and a sorted copy of a frame would not fit in memory together.
    del people, first_place
    victims = _sorted_frame(
        {
            "crime_id": crime_ids.gather(v_crime),
            "person_id": person_ids.gather(v_person),
            "dash_risk": _labels(attached.dash, DASH_GRADES),
            "_year": pl.Series(crime_year[v_crime], dtype=pl.Int32),
        },
        ["crime_id", "person_id"],
    )
    del attached, v_crime, v_person
    suspects = _sorted_frame(
        {
            "crime_id": crime_ids.gather(s_crime),
            "person_id": person_ids.gather(s_person),
            "role": _labels(s_role, SUSPECT_ROLES),
        },
        ["crime_id", "person_id"],
    )
    del s_crime, s_person, s_role
    persons = _persons_frame(finished, src, person_ids)
    del finished, person_ids
    return Built(
        crimes=_crimes_frame(crimes, cat, src, crime_ids, crime_year),
        persons=persons,
        victims=victims,
        suspects=suspects,
        as_of=as_of,
    )


def _sorted_frame(columns: dict[str, pl.Series], key: list[str]) -> pl.DataFrame:
    """The columns as a frame in ``key`` order (stable), sorted one column at a time."""
    order = pl.DataFrame({k: columns[k] for k in key}).select(
        pl.arg_sort_by(key, maintain_order=True)
    )
    order_series = order.to_series()
    del order
    out: dict[str, pl.Series] = {}
    for name in list(columns):
        out[name] = columns.pop(name).gather(order_series)
    return pl.DataFrame(out)


@dataclass
class Attached:
    victim_crime: np.ndarray
    victim_person: np.ndarray
    dash: np.ndarray
    """DASH grade index of each victim row (-1: not domestic abuse)."""
    perpetrator_crime: np.ndarray
    perpetrator: np.ndarray
    general_violence: np.ndarray
    """Adult victims of non-DA violence: who may also be a suspect elsewhere."""


def _attach_victims(
    rng: np.random.Generator,
    crimes: Crimes,
    cat: Catalogue,
    src: Sources,
    people: People,
    intensity: np.ndarray,
    first_day: int,
) -> Attached:
    """Victims (and DA perpetrators) for every crime whose offence has a victim."""
    n_lsoas = len(src.lsoas)
    kind = crimes.victim_kind
    da = crimes.da
    death = cat.death[crimes.key] & ((kind == VICTIM_ADULT) | (kind == VICTIM_CHILD))
    domestic: list[DomesticRows] = []
    dyad_slots = np.flatnonzero((kind == VICTIM_ADULT) & da & ~death)
    domestic.append(
        attach_dyads(rng, crimes, cat, people, dyad_slots, intensity, first_day, n_lsoas)
    )
    general_slots = np.flatnonzero((kind == VICTIM_ADULT) & ~da & ~death)
    general = adult_chains(rng, crimes, cat, people, general_slots, intensity, first_day)

    children = child_victims(
        rng, crimes, cat, people, np.flatnonzero((kind == VICTIM_CHILD) & ~death)
    )
    child_da = da[children.crime]
    da_rows = np.flatnonzero(child_da)
    report = children.report if children.report is not None else np.arange(len(child_da))
    domestic.append(
        single_dyads(
            rng,
            crimes,
            cat,
            people,
            children.crime[da_rows],
            children.person[da_rows],
            family=True,
            report=np.searchsorted(da_rows, report[da_rows]),
        )
    )
    dead = homicide_victims(rng, crimes, cat, people, np.flatnonzero(death))
    dead_da = da[dead.crime]
    domestic.append(
        single_dyads(
            rng, crimes, cat, people, dead.crime[dead_da], dead.person[dead_da], family=False
        )
    )
    org = organisation_victims(rng, crimes, cat, src, people, np.flatnonzero(kind == VICTIM_ORG))
    extra = extra_victims(
        rng, crimes, people, np.sort(np.concatenate([general.crime, org.crime])), n_lsoas
    )

    others = [
        (general.crime, general.person),
        (children.crime[~child_da], children.person[~child_da]),
        (dead.crime[~dead_da], dead.person[~dead_da]),
        (org.crime, org.person),
        (extra.crime, extra.person),
    ]
    da_dash = np.concatenate([d.dash for d in domestic])
    victim_crime = np.concatenate([*(d.victim_crime for d in domestic), *(c for c, _ in others)])
    violence = src.category_index("Violence and sexual offences")
    return Attached(
        victim_crime=victim_crime,
        victim_person=np.concatenate(
            [*(d.victim_person for d in domestic), *(p for _, p in others)]
        ),
        dash=np.r_[da_dash, np.full(len(victim_crime) - len(da_dash), -1)],
        perpetrator_crime=np.concatenate([d.suspect_crime for d in domestic]),
        perpetrator=np.concatenate([d.suspect_person for d in domestic]),
        general_violence=np.unique(general.person[crimes.category[general.crime] == violence]),
    )


def _labels(codes: np.ndarray, labels: Sequence[str | None]) -> pl.Series:
    """``labels[code]`` for each code, null where the code is negative."""
    table = pl.Series([*labels, None], dtype=pl.String)
    return table.gather(np.where(codes < 0, len(labels), codes))


def _settle_sex(
    crimes: Crimes, cat: Catalogue, n_people: int, v_crime: np.ndarray, v_person: np.ndarray
) -> np.ndarray:
    """Sex fixed by a victim's offences; a male-only offence against a woman who is also
    the victim of a female-only one becomes its female form (never the other way)."""
    need = cat.sex[crimes.key[v_crime]]
    female = np.zeros(n_people, dtype=bool)
    female[v_person[need == 0]] = True
    male_rows = np.flatnonzero((need == 1) & female[v_person])
    crimes.key[v_crime[male_rows]] = cat.female_twin[crimes.key[v_crime[male_rows]]]
    need = cat.sex[crimes.key[v_crime]]
    constraint = np.full(n_people, -1, dtype=np.int64)
    constraint[v_person[need == 1]] = 1
    constraint[v_person[need == 0]] = 0
    return constraint


def _first_place(
    crimes: Crimes,
    n_people: int,
    n_lsoas: int,
    v_crime: np.ndarray,
    v_person: np.ndarray,
    s_crime: np.ndarray,
    s_person: np.ndarray,
) -> np.ndarray:
    crime = np.concatenate([v_crime, s_crime])
    person = np.concatenate([v_person, s_person])
    ok = crimes.place[crime] < n_lsoas
    crime, person = crime[ok], person[ok]
    order = np.lexsort((crime, crimes.day[crime], person))
    person_sorted = person[order]
    first = np.ones(len(person_sorted), dtype=bool)
    first[1:] = person_sorted[1:] != person_sorted[:-1]
    out = np.full(n_people, -1, dtype=np.int64)
    out[person_sorted[first]] = crimes.place[crime[order][first]]
    return out


def _drop_codes(rng: np.random.Generator, crimes: Crimes, cat: Catalogue, src: Sources) -> None:
    """A few crimes carry only the offence key, fewer only the Home Office class."""
    n = len(crimes)
    has_class = np.array([c is not None for c in cat.ho_class])[crimes.key]
    classes: dict[str, set[str | None]] = {}
    for w in src.weights.values():
        if w.ho_class is not None:
            classes.setdefault(w.ho_class, set()).add(
                src.classification_category.get(w.classification)
            )
    unique_class = np.array(
        [c is not None and len(classes[c] - {None}) == 1 for c in cat.ho_class]
    )[crimes.key]
    u = rng.random(n)
    crimes.drop_ho_class = (u < HO_CLASS_MISSING_SHARE) | ~has_class
    crimes.drop_offence_code = (
        (u >= HO_CLASS_MISSING_SHARE)
        & (u < HO_CLASS_MISSING_SHARE + OFFENCE_CODE_MISSING_SHARE)
        & has_class
        & unique_class
    )


def _crime_ids(rng: np.random.Generator, crimes: Crimes) -> tuple[pl.Series, np.ndarray]:
    """``37/NNNNNN/YY``: numbered in recording order within the year, with small gaps."""
    n = len(crimes)
    year = crimes.day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    order = np.lexsort((rng.random(n), crimes.day))
    rows_of: list[np.ndarray] = []
    ids_of: list[pl.Series] = []
    for y in np.unique(year).tolist():
        rows = order[year[order] == y]
        gaps = 1 + (rng.random(len(rows)) < 0.2) * rng.integers(1, 4, size=len(rows))
        seq = int(rng.integers(1_000, 20_000)) + np.cumsum(gaps)
        width = max(6, len(str(int(seq[-1]))))
        number = pl.Series(seq).cast(pl.String).str.zfill(width)
        ids_of.append(f"{FORCE_PREFIX}/" + number + f"/{y % 100:02d}")
        rows_of.append(rows)
    position = np.empty(n, dtype=np.int64)
    position[np.concatenate(rows_of)] = np.arange(n)
    ids = pl.concat(ids_of) if ids_of else pl.Series([], dtype=pl.String)
    return ids.gather(position), year.astype(np.int32)


def _person_ids(rng: np.random.Generator, n: int, scale: float) -> pl.Series:
    """Distinct ``P`` numbers drawn from the notional population, in random order."""
    population = max(int(POPULATION * scale), 3 * n, 1)
    width = max(8, len(str(population)))
    numbers = rng.choice(population, size=n, replace=False) + 1
    return "P" + pl.Series(numbers, dtype=pl.Int64).cast(pl.String).str.zfill(width)


def _days_or_null(days: np.ndarray, null: np.ndarray) -> pl.Series:
    values = np.where(null, 0, days).astype("datetime64[D]")
    s = pl.Series(values=values).cast(pl.Date)
    return s.set(pl.Series(null), None) if null.any() else s


def _crimes_frame(
    crimes: Crimes, cat: Catalogue, src: Sources, ids: pl.Series, year: np.ndarray
) -> pl.DataFrame:
    """The crimes table in key order; the generator's columns are freed as they are used."""
    order = ids.arg_sort().to_numpy()
    n_places = len(src.lsoas)
    lsoa = _labels(np.where(crimes.place[order] < n_places, crimes.place[order], -1), src.lsoas)
    outside = np.flatnonzero(crimes.outside[order] != "")
    lsoa.scatter(outside, pl.Series(crimes.outside[order][outside].tolist(), dtype=pl.String))
    columns: dict[str, pl.Series] = {
        "crime_id": ids.gather(order),
        "recorded_date": _days_or_null(crimes.day[order], np.zeros(len(order), dtype=bool)),
        "occurred_date": _days_or_null(
            (crimes.day - crimes.occurred_offset)[order], crimes.occurred_offset[order] < 0
        ),
        "offence_code": _labels(
            np.where(crimes.drop_offence_code, -1, crimes.key)[order], list(cat.keys)
        ),
        "ho_class": _labels(np.where(crimes.drop_ho_class, -1, crimes.key)[order], cat.ho_class),
        "lsoa_code": lsoa,
    }
    del ids, lsoa
    columns["domestic_abuse"] = pl.Series(crimes.da[order], dtype=pl.Boolean)
    columns["da_relationship"] = _labels(crimes.da_relationship[order], DA_RELATIONSHIPS)
    columns["hate"] = pl.Series(crimes.hate[order], dtype=pl.Boolean)
    columns["status"] = _labels(crimes.status[order], CRIME_STATUSES)
    outcome = crimes.outcome[order]
    columns["outcome_code"] = pl.Series(np.where(outcome > 0, outcome, 0), dtype=pl.Int16)
    columns["outcome_date"] = _days_or_null(crimes.outcome_day[order], outcome == 0)
    columns["_year"] = pl.Series(year[order], dtype=pl.Int32)
    del outcome
    frame = pl.DataFrame(columns)
    del columns
    return frame.with_columns(
        pl.when(pl.col("outcome_code") > 0).then(pl.col("outcome_code")).alias("outcome_code")
    )


def _persons_frame(f: Finished, src: Sources, ids: pl.Series) -> pl.DataFrame:
    """The persons table in key order."""
    order = ids.arg_sort().to_numpy()
    return pl.DataFrame(
        {
            "person_id": ids.gather(order),
            "person_type": _labels(
                np.where(f.individual, 0, 1)[order], ["individual", "organisation"]
            ),
            "name": f.name.gather(order),
            "sex": _labels(f.sex[order], ["F", "M", "X"]),
            "birth_date": _days_or_null(f.birth[order], f.birth[order] == UNSET),
            "ethnicity": _labels(f.ethnicity[order], ETHNICITIES),
            "home_lsoa_code": _labels(f.home[order], src.lsoas),
            "deceased_date": _days_or_null(f.deceased[order], f.deceased[order] == UNSET),
        }
    )
