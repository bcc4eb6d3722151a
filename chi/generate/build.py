"""From options to clean contract tables: the order in which the generator's parts run.

Crimes come first (volume, mix, place), then the people attached to them (domestic abuse
dyads before the other victims, because dyads may reorder their offences and move their
later incidents to the dyad's address), then outcomes and suspects, then the remaining
person attributes, and last the keys (crime and person references) and the tables. The
result is a clean extract: every row valid, sorted by key; defects are added afterwards.
"""

from __future__ import annotations

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
    return Built(
        crimes=_crimes_frame(crimes, cat, src, crime_ids, crime_year),
        persons=_persons_frame(finished, src, person_ids),
        victims=pl.DataFrame(
            {
                "crime_id": crime_ids[v_crime],
                "person_id": person_ids[v_person],
                "dash_risk": _labels(attached.dash, DASH_GRADES),
                "_year": crime_year[v_crime],
            },
            schema={
                "crime_id": pl.String,
                "person_id": pl.String,
                "dash_risk": pl.String,
                "_year": pl.Int32,
            },
        ).sort(["crime_id", "person_id"], maintain_order=True),
        suspects=pl.DataFrame(
            {
                "crime_id": crime_ids[s_crime],
                "person_id": person_ids[s_person],
                "role": _labels(s_role, SUSPECT_ROLES),
            },
            schema={"crime_id": pl.String, "person_id": pl.String, "role": pl.String},
        ).sort(["crime_id", "person_id"], maintain_order=True),
        as_of=as_of,
    )


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


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> list[str | None]:
    table = np.array([*labels, None], dtype=object)
    return list(table[np.where(codes < 0, len(labels), codes)])


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


def _crime_ids(rng: np.random.Generator, crimes: Crimes) -> tuple[np.ndarray, np.ndarray]:
    """``37/NNNNNN/YY``: numbered in recording order within the year, with small gaps."""
    n = len(crimes)
    year = crimes.day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    order = np.lexsort((rng.random(n), crimes.day))
    ids = np.empty(n, dtype=object)
    for y in np.unique(year).tolist():
        rows = order[year[order] == y]
        gaps = 1 + (rng.random(len(rows)) < 0.2) * rng.integers(1, 4, size=len(rows))
        seq = int(rng.integers(1_000, 20_000)) + np.cumsum(gaps)
        width = max(6, len(str(int(seq[-1]))))
        yy = f"{y % 100:02d}"
        ids[rows] = [f"{FORCE_PREFIX}/{s:0{width}d}/{yy}" for s in seq.tolist()]
    return ids, year.astype(np.int32)


def _person_ids(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Distinct ``P`` numbers drawn from the notional population, in random order."""
    population = max(int(POPULATION * scale), 3 * n, 1)
    width = max(8, len(str(population)))
    numbers = rng.choice(population, size=n, replace=False) + 1
    return np.array([f"P{k:0{width}d}" for k in numbers.tolist()], dtype=object)


def _strings(values: np.ndarray | list[str | None]) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String)


def _days_or_null(days: np.ndarray, null: np.ndarray) -> pl.Series:
    values = np.where(null, 0, days).astype("datetime64[D]")
    s = pl.Series(values=values).cast(pl.Date)
    return s.set(pl.Series(null), None) if null.any() else s


def _crimes_frame(
    crimes: Crimes, cat: Catalogue, src: Sources, ids: np.ndarray, year: np.ndarray
) -> pl.DataFrame:
    places = np.array([*src.lsoas, None, None], dtype=object)
    lsoa = places[crimes.place]
    outside = crimes.outside != ""
    lsoa[outside] = crimes.outside[outside]
    keys = np.array(cat.keys, dtype=object)[crimes.key]
    keys[crimes.drop_offence_code] = None
    ho = np.array(cat.ho_class, dtype=object)[crimes.key]
    ho[crimes.drop_ho_class] = None
    unknown_occurred = crimes.occurred_offset < 0
    frame = pl.DataFrame(
        {
            "crime_id": _strings(ids),
            "recorded_date": _days_or_null(crimes.day, np.zeros(len(crimes), dtype=bool)),
            "occurred_date": _days_or_null(crimes.day - crimes.occurred_offset, unknown_occurred),
            "offence_code": _strings(keys),
            "ho_class": _strings(ho),
            "lsoa_code": _strings(lsoa),
            "domestic_abuse": pl.Series(crimes.da, dtype=pl.Boolean),
            "da_relationship": _strings(_labels(crimes.da_relationship, DA_RELATIONSHIPS)),
            "hate": pl.Series(crimes.hate, dtype=pl.Boolean),
            "status": _strings(_labels(crimes.status, CRIME_STATUSES)),
            "outcome_code": pl.Series(
                np.where(crimes.outcome > 0, crimes.outcome, 0), dtype=pl.Int16
            ),
            "outcome_date": _days_or_null(crimes.outcome_day, crimes.outcome == 0),
            "_year": pl.Series(year, dtype=pl.Int32),
        }
    )
    return frame.with_columns(
        pl.when(pl.col("outcome_code") > 0).then(pl.col("outcome_code")).alias("outcome_code")
    ).sort("crime_id", maintain_order=True)


def _persons_frame(f: Finished, src: Sources, ids: np.ndarray) -> pl.DataFrame:
    lsoas = np.array([*src.lsoas, None], dtype=object)
    home = lsoas[np.where(f.home >= 0, f.home, len(src.lsoas))]
    sex = np.array(["F", "M", "X", None], dtype=object)[np.where(f.sex >= 0, f.sex, 3)]
    eth = np.array([*ETHNICITIES, None], dtype=object)[
        np.where(f.ethnicity >= 0, f.ethnicity, len(ETHNICITIES))
    ]
    ptype = np.where(f.individual, "individual", "organisation").astype(object)
    return pl.DataFrame(
        {
            "person_id": _strings(ids),
            "person_type": _strings(ptype),
            "name": _strings(f.name),
            "sex": _strings(sex),
            "birth_date": _days_or_null(f.birth, f.birth == UNSET),
            "ethnicity": _strings(eth),
            "home_lsoa_code": _strings(home),
            "deceased_date": _days_or_null(f.deceased, f.deceased == UNSET),
        }
    ).sort("person_id", maintain_order=True)
