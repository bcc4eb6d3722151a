"""Realistic faults in an extract, each one listed in ``truth/defects.parquet``.

Real extracts are dirty and chi must cope without dropping anything silently, so the
generator injects, at a configurable share of all rows, every kind of fault the calibration
names. Some are accepted by validation and only show up in the data-quality report or later
analysis; the others must be rejected with a reason:

==========================  ========  =================================================
kind                        table     effect
==========================  ========  =================================================
duplicate_recording         crimes    one course of stalking/harassment recorded twice
                                      (accepted; the duplicate is in truth/duplicates)
unknown_offence_code        crimes    an offence code in no weight set (accepted,
                                      weight unmatched)
missing_lsoa                crimes    no location (accepted)
out_of_force_lsoa           crimes    an LSOA of another force (accepted)
occurred_after_recorded     crimes    rejected
date_after_as_of            crimes    recorded or outcome date after as-of; rejected
victim_missing_person       victims   a victim who is not in persons; rejected
duplicate_key               crimes or a second copy of a row; the later copy is rejected
                            persons
wrong_type                  crimes    one file holds a column as text; the rows listed
                                      carry unparseable text and are rejected
==========================  ========  =================================================

Each defect row carries exactly one defect, and rejected crimes are chosen among crimes
with no victims or suspects, so a rejection never drags other rows with it. The ``key`` is
the row's contract key (``crime_id|person_id`` for victims).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from chi.generate.build import Built
from chi.generate.crimes import OUTSIDE_LSOAS
from chi.generate.write import TextColumn

KIND_SHARES: dict[str, float] = {
    "missing_lsoa": 0.14,
    "out_of_force_lsoa": 0.10,
    "unknown_offence_code": 0.13,
    "duplicate_recording": 0.06,
    "victim_missing_person": 0.14,
    "duplicate_key": 0.15,
    "occurred_after_recorded": 0.10,
    "date_after_as_of": 0.11,
    "wrong_type": 0.07,
}
UNKNOWN_CODES = ("ZZ.99.9.0", "ZZ.1.2.0", "XQ.12.1.0", "Z9.9.9.9")
BAD_TEXT = {
    "recorded_date": ("unknown", "31/02/2024", "2024-13-45", "N/A", "yesterday"),
    "domestic_abuse": ("yes please", "unknown", "Y?", "maybe", "n/k"),
}
REPEAT_OFFENCES = ("8L.", "8Q.", "8R.")

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)
DUPLICATES_SCHEMA = pa.schema(
    [
        pa.field("duplicate_crime_id", pa.string(), nullable=False),
        pa.field("original_crime_id", pa.string(), nullable=False),
    ]
)


@dataclass
class Dirty:
    crimes: pl.DataFrame
    persons: pl.DataFrame
    victims: pl.DataFrame
    suspects: pl.DataFrame
    truth: pa.Table
    duplicates: pa.Table
    text_column: TextColumn | None


def planned_counts(rate: float, rows: int) -> dict[str, int]:
    """Defects per kind: ``rate`` of all rows in total, at least one of each kind."""
    if rate <= 0:
        return dict.fromkeys(KIND_SHARES, 0)
    total = rate * rows
    return {k: max(1, round(total * share)) for k, share in KIND_SHARES.items()}


class _Crimes:
    """The crimes frame being made dirty: which rows are taken, and the changes to apply."""

    def __init__(self, rng: np.random.Generator, frame: pl.DataFrame) -> None:
        self.rng = rng
        self.frame = frame
        self.ids = frame["crime_id"].to_numpy()
        self.used = np.zeros(frame.height, dtype=bool)
        self.changes: list[tuple[str, np.ndarray, pl.Series | None]] = []

    def take(self, mask: np.ndarray, k: int) -> np.ndarray:
        """``k`` rows (fewer if there are not enough) that no other defect has touched."""
        pool = np.flatnonzero(mask & ~self.used)
        chosen = np.sort(self.rng.choice(pool, size=min(k, len(pool)), replace=False))
        self.used[chosen] = True
        return chosen

    def set(self, column: str, rows: np.ndarray, values: pl.Series | None) -> None:
        self.changes.append((column, rows, values))

    def applied(self) -> pl.DataFrame:
        frame = self.frame
        for column, rows, values in self.changes:
            if len(rows):
                series = frame[column].clone()
                series.scatter(rows, values)
                frame = frame.with_columns(series)
        return frame


def _dates(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype("datetime64[D]")).cast(pl.Date)


def _strings(values: np.ndarray | list[str]) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String)


def _member(values: pl.Series, among: pl.Series) -> np.ndarray:
    return values.is_in(among.unique().implode()).fill_null(False).to_numpy()


def inject_defects(rng: np.random.Generator, built: Built, rate: float) -> Dirty:
    crimes, persons, victims, suspects = built.crimes, built.persons, built.victims, built.suspects
    plan = planned_counts(rate, crimes.height + persons.height + victims.height + suspects.height)
    truth: list[tuple[str, str, str]] = []
    if not any(plan.values()):
        return Dirty(crimes, persons, victims, suspects, _truth(truth), _dups([]), None)

    c = _Crimes(rng, crimes)
    as_of = np.datetime64(built.as_of, "D")
    recorded = crimes["recorded_date"].to_numpy()
    with_victim = _member(crimes["crime_id"], victims["crime_id"])
    with_suspect = _member(crimes["crime_id"], suspects["crime_id"])
    quiet = ~with_victim & ~with_suspect

    # duplicate_recording: the same course of conduct recorded again a few days later.
    offence = crimes["offence_code"].fill_null("")
    repeatable = np.zeros(crimes.height, dtype=bool)
    for prefix in REPEAT_OFFENCES:
        repeatable |= offence.str.starts_with(prefix).to_numpy()
    one_victim = victims.group_by("crime_id").len().filter(pl.col("len") == 1)["crime_id"]
    year_end = (recorded.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 6
    rows = c.take(
        repeatable
        & _member(crimes["crime_id"], one_victim)
        & with_suspect
        & (crimes["status"] == "recorded").to_numpy()
        & (recorded <= year_end)
        & (recorded <= as_of - 6),
        plan["duplicate_recording"],
    )
    dup_ids = _new_ids(c.ids, rows)
    pairs = pl.DataFrame({"crime_id": _strings(c.ids[rows]), "duplicate": _strings(dup_ids)})
    new_crimes = (
        crimes[rows.tolist()]
        .with_columns(
            crime_id=_strings(dup_ids),
            recorded_date=_dates(recorded[rows] + rng.integers(1, 6, len(rows))),
        )
        .with_columns(
            outcome_date=pl.when(pl.col("outcome_date").is_null())
            .then(None)
            .otherwise(pl.max_horizontal("outcome_date", "recorded_date"))
        )
    )
    new_victims = _copied(victims, pairs)
    new_suspects = _copied(suspects, pairs)
    truth += [("crimes", d, "duplicate_recording") for d in dup_ids]
    dup_pairs = list(zip(dup_ids, c.ids[rows].tolist(), strict=True))

    # Accepted faults in values.
    rows = c.take(np.ones(crimes.height, dtype=bool), plan["unknown_offence_code"])
    c.set("offence_code", rows, _strings(np.array(UNKNOWN_CODES)[rng.integers(0, 4, len(rows))]))
    c.set("ho_class", rows, None)
    truth += [("crimes", k, "unknown_offence_code") for k in c.ids[rows]]
    lsoa = crimes["lsoa_code"]
    located = lsoa.is_not_null().to_numpy()
    in_force = located & ~_member(lsoa, _strings(list(OUTSIDE_LSOAS)))
    rows = c.take(located, plan["missing_lsoa"])
    c.set("lsoa_code", rows, None)
    truth += [("crimes", k, "missing_lsoa") for k in c.ids[rows]]
    rows = c.take(in_force, plan["out_of_force_lsoa"])
    outside = np.array(OUTSIDE_LSOAS)[rng.integers(0, len(OUTSIDE_LSOAS), len(rows))]
    c.set("lsoa_code", rows, _strings(outside))
    truth += [("crimes", k, "out_of_force_lsoa") for k in c.ids[rows]]

    # Rejected date faults, on crimes that no victim or suspect refers to.
    rows = c.take(quiet & (recorded <= as_of - 31), plan["occurred_after_recorded"])
    c.set("occurred_date", rows, _dates(recorded[rows] + rng.integers(1, 31, len(rows))))
    truth += [("crimes", k, "occurred_after_recorded") for k in c.ids[rows]]
    has_outcome = crimes["outcome_date"].is_not_null().to_numpy()
    late_outcome = c.take(quiet & has_outcome, plan["date_after_as_of"] // 2)
    late_record = c.take(quiet, plan["date_after_as_of"] - len(late_outcome))
    c.set("outcome_date", late_outcome, _dates(as_of + rng.integers(1, 61, len(late_outcome))))
    c.set("recorded_date", late_record, _dates(as_of + rng.integers(1, 61, len(late_record))))
    c.set("outcome_code", late_record, None)
    c.set("outcome_date", late_record, None)
    truth += [("crimes", k, "date_after_as_of") for k in c.ids[np.r_[late_outcome, late_record]]]

    # wrong_type: one year's crimes file holds a column as text.
    years = crimes["_year"].to_numpy()
    year = int(rng.choice(np.unique(years)))
    column = ("recorded_date", "domestic_abuse")[int(rng.integers(0, 2))]
    rows = c.take(quiet & (years == year), plan["wrong_type"])
    bad = np.array(BAD_TEXT[column])[rng.integers(0, len(BAD_TEXT[column]), len(rows))]
    text_column = TextColumn(year, column, dict(zip(c.ids[rows], bad.tolist(), strict=True)))
    truth += [("crimes", k, "wrong_type") for k in c.ids[rows]]
    crimes = c.applied()

    # victim_missing_person: a victim row whose person is not in persons.
    free_victim = ~_member(victims["crime_id"], _strings(c.ids[c.used]))
    v_rows = np.sort(
        rng.choice(
            np.flatnonzero(free_victim),
            size=min(plan["victim_missing_person"], int(free_victim.sum())),
            replace=False,
        )
    )
    ghosts = _ghost_ids(rng, persons["person_id"], len(v_rows))
    person_col = victims["person_id"].clone()
    person_col.scatter(v_rows, _strings(ghosts))
    v_crimes = victims["crime_id"].to_numpy()[v_rows]
    victims = victims.with_columns(person_col)
    truth += [
        ("victims", f"{k}|{p}", "victim_missing_person")
        for k, p in zip(v_crimes, ghosts, strict=True)
    ]

    # duplicate_key: a second copy of a crime or a person, right after the first.
    c.used |= _member(crimes["crime_id"], _strings(v_crimes))
    k_crimes = max(1, round(plan["duplicate_key"] * 0.6))
    crime_copies = crimes[c.take(np.ones(crimes.height, dtype=bool), k_crimes).tolist()]
    k_persons = min(persons.height, max(1, plan["duplicate_key"] - k_crimes))
    person_rows = np.sort(rng.choice(persons.height, size=k_persons, replace=False))
    person_copies = persons[person_rows.tolist()].with_columns(pl.col("name").str.to_uppercase())
    truth += [("crimes", k, "duplicate_key") for k in crime_copies["crime_id"]]
    truth += [("persons", k, "duplicate_key") for k in person_copies["person_id"]]

    crimes = pl.concat([crimes, new_crimes, crime_copies]).sort("crime_id", maintain_order=True)
    persons = pl.concat([persons, person_copies]).sort("person_id", maintain_order=True)
    key = ["crime_id", "person_id"]
    victims = pl.concat([victims, new_victims]).sort(key, maintain_order=True)
    suspects = pl.concat([suspects, new_suspects]).sort(key, maintain_order=True)
    return Dirty(crimes, persons, victims, suspects, _truth(truth), _dups(dup_pairs), text_column)


def _new_ids(ids: np.ndarray, rows: np.ndarray) -> list[str]:
    """Unused crime numbers just after each original's, in the same year."""
    taken = set(ids.tolist())
    out = []
    for original in ids[rows].tolist():
        prefix, number, yy = original.split("/")
        k = int(number) + 1
        while (candidate := f"{prefix}/{k:0{len(number)}d}/{yy}") in taken:
            k += 1
        taken.add(candidate)
        out.append(candidate)
    return out


def _copied(rows: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The rows of each original crime, again under the duplicate's crime_id."""
    return (
        rows.join(pairs, on="crime_id")
        .with_columns(pl.col("duplicate").alias("crime_id"))
        .drop("duplicate")
        .select(rows.columns)
    )


def _ghost_ids(rng: np.random.Generator, existing: pl.Series, n: int) -> list[str]:
    """``n`` person ids shaped like the real ones that belong to nobody."""
    width = len(existing[0]) - 1 if len(existing) else 8
    taken = set(existing.to_list())
    out: list[str] = []
    while len(out) < n:
        candidate = f"P{int(rng.integers(0, 10**width)):0{width}d}"
        if candidate not in taken:
            taken.add(candidate)
            out.append(candidate)
    return out


def _truth(rows: list[tuple[str, str, str]]) -> pa.Table:
    rows = sorted(rows)
    return pa.Table.from_arrays(
        [pa.array([r[i] for r in rows], type=pa.string()) for i in range(3)], schema=TRUTH_SCHEMA
    )


def _dups(pairs: list[tuple[str, str]]) -> pa.Table:
    pairs = sorted(pairs)
    return pa.Table.from_arrays(
        [pa.array([p[i] for p in pairs], type=pa.string()) for i in range(2)],
        schema=DUPLICATES_SCHEMA,
    )
