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
from datetime import date, timedelta

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


def inject_defects(rng: np.random.Generator, built: Built, rate: float) -> Dirty:
    crimes, persons, victims, suspects = built.crimes, built.persons, built.victims, built.suspects
    rows = crimes.height + persons.height + victims.height + suspects.height
    plan = planned_counts(rate, rows)
    truth: list[tuple[str, str, str]] = []
    dup_pairs: list[tuple[str, str]] = []
    text_column: TextColumn | None = None
    if not any(plan.values()):
        return Dirty(crimes, persons, victims, suspects, _truth(truth), _dups(dup_pairs), None)

    as_of = built.as_of
    n = crimes.height
    ids = crimes["crime_id"].to_numpy()
    with_victim = _member(crimes["crime_id"], victims["crime_id"])
    with_suspect = _member(crimes["crime_id"], suspects["crime_id"])
    quiet = ~with_victim & ~with_suspect
    used = np.zeros(n, dtype=bool)
    recorded = crimes["recorded_date"].to_numpy()
    as_of64 = np.datetime64(as_of, "D")

    def take(mask: np.ndarray, k: int) -> np.ndarray:
        pool = np.flatnonzero(mask & ~used)
        chosen = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))
        used[chosen] = True
        return chosen

    updates: dict[str, list[tuple[np.ndarray, object]]] = {}

    def set_values(column: str, rows: np.ndarray, values: object) -> None:
        updates.setdefault(column, []).append((rows, values))

    # duplicate_recording: same victim, suspect and offence a few days later.
    offence = crimes["offence_code"].fill_null("").to_numpy()
    repeatable = np.array([o.startswith(REPEAT_OFFENCES) for o in offence.tolist()], dtype=bool)
    victim_counts = victims.group_by("crime_id", maintain_order=True).len()
    single = _member(crimes["crime_id"], victim_counts.filter(pl.col("len") == 1)["crime_id"])
    year_end = (recorded.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 6
    status_ok = crimes["status"].to_numpy() == "recorded"
    dup_rows = take(
        repeatable
        & single
        & with_suspect
        & status_ok
        & (recorded <= year_end)
        & (recorded <= as_of64 - 6),
        plan["duplicate_recording"],
    )
    taken_numbers = set(ids.tolist())
    new_crimes = []
    new_victims = []
    new_suspects = []
    for r in dup_rows.tolist():
        original = ids[r]
        prefix, number, yy = original.split("/")
        k = int(number) + 1
        while f"{prefix}/{k:0{len(number)}d}/{yy}" in taken_numbers:
            k += 1
        dup_id = f"{prefix}/{k:0{len(number)}d}/{yy}"
        taken_numbers.add(dup_id)
        shift = int(rng.integers(1, 6))
        row = crimes.row(r, named=True)
        row["crime_id"] = dup_id
        row["recorded_date"] = row["recorded_date"] + timedelta(days=shift)
        if row["outcome_date"] is not None:
            row["outcome_date"] = max(row["outcome_date"], row["recorded_date"])
        new_crimes.append(row)
        for v in victims.filter(pl.col("crime_id") == original).iter_rows(named=True):
            new_victims.append({**v, "crime_id": dup_id})
        for s in suspects.filter(pl.col("crime_id") == original).iter_rows(named=True):
            new_suspects.append({**s, "crime_id": dup_id})
        truth.append(("crimes", dup_id, "duplicate_recording"))
        dup_pairs.append((dup_id, original))

    # Accepted value faults.
    chosen = take(np.ones(n, dtype=bool), plan["unknown_offence_code"])
    codes = np.array(UNKNOWN_CODES, dtype=object)[rng.integers(0, len(UNKNOWN_CODES), len(chosen))]
    set_values("offence_code", chosen, codes)
    set_values("ho_class", chosen, None)
    truth += [("crimes", ids[r], "unknown_offence_code") for r in chosen.tolist()]

    lsoa = crimes["lsoa_code"].to_numpy()
    located = np.array([v is not None for v in lsoa.tolist()], dtype=bool)
    outside_codes = frozenset(OUTSIDE_LSOAS)
    in_force = located & np.array([v not in outside_codes for v in lsoa.tolist()], dtype=bool)
    chosen = take(located, plan["missing_lsoa"])
    set_values("lsoa_code", chosen, None)
    truth += [("crimes", ids[r], "missing_lsoa") for r in chosen.tolist()]
    chosen = take(in_force, plan["out_of_force_lsoa"])
    outside = np.array(OUTSIDE_LSOAS, dtype=object)[
        rng.integers(0, len(OUTSIDE_LSOAS), len(chosen))
    ]
    set_values("lsoa_code", chosen, outside)
    truth += [("crimes", ids[r], "out_of_force_lsoa") for r in chosen.tolist()]

    # Rejected date faults, on crimes nobody else refers to.
    chosen = take(quiet & (recorded <= as_of64 - 31), plan["occurred_after_recorded"])
    later = recorded[chosen] + rng.integers(1, 31, len(chosen)).astype("timedelta64[D]")
    set_values("occurred_date", chosen, later)
    truth += [("crimes", ids[r], "occurred_after_recorded") for r in chosen.tolist()]

    has_outcome = crimes["outcome_date"].is_not_null().to_numpy()
    k_total = plan["date_after_as_of"]
    chosen_out = take(quiet & has_outcome, k_total // 2)
    chosen_rec = take(quiet, k_total - len(chosen_out))
    after = as_of64 + rng.integers(1, 61, len(chosen_out)).astype("timedelta64[D]")
    set_values("outcome_date", chosen_out, after)
    after = as_of64 + rng.integers(1, 61, len(chosen_rec)).astype("timedelta64[D]")
    set_values("recorded_date", chosen_rec, after)
    set_values("outcome_code", chosen_rec, None)
    set_values("outcome_date", chosen_rec, None)
    truth += [
        ("crimes", ids[r], "date_after_as_of") for r in np.concatenate([chosen_out, chosen_rec])
    ]

    # wrong_type: one year's file carries a column as text.
    years = crimes["_year"].to_numpy()
    year_list = sorted(set(years.tolist()))
    year = int(year_list[int(rng.integers(0, len(year_list)))])
    column = ("recorded_date", "domestic_abuse")[int(rng.integers(0, 2))]
    chosen = take(quiet & (years == year), plan["wrong_type"])
    bad = np.array(BAD_TEXT[column], dtype=object)[
        rng.integers(0, len(BAD_TEXT[column]), len(chosen))
    ]
    text_column = TextColumn(
        year, column, dict(zip(ids[chosen].tolist(), bad.tolist(), strict=True))
    )
    truth += [("crimes", ids[r], "wrong_type") for r in chosen.tolist()]

    crimes = _apply(crimes, updates)

    # victim_missing_person: the victim's person_id points nowhere.
    v_ids = victims["crime_id"].to_numpy()
    v_ok = ~_member(victims["crime_id"], pl.Series(ids[used].tolist(), dtype=pl.String))
    v_pool = np.flatnonzero(v_ok)
    v_chosen = np.sort(
        rng.choice(v_pool, size=min(plan["victim_missing_person"], len(v_pool)), replace=False)
    )
    existing = set(persons["person_id"].to_list())
    width = len(persons["person_id"][0]) - 1 if persons.height else 8
    ghosts: list[str] = []
    while len(ghosts) < len(v_chosen):
        candidate = f"P{int(rng.integers(0, 10**width)):0{width}d}"
        if candidate not in existing and candidate not in ghosts:
            ghosts.append(candidate)
    person_col = victims["person_id"].to_numpy().copy()
    person_col[v_chosen] = np.array(ghosts, dtype=object)
    victims = victims.with_columns(pl.Series("person_id", person_col, dtype=pl.String))
    truth += [
        ("victims", f"{c}|{p}", "victim_missing_person")
        for c, p in zip(v_ids[v_chosen].tolist(), ghosts, strict=True)
    ]
    used_crime_ids = set(ids[used].tolist()) | set(v_ids[v_chosen].tolist())

    # duplicate_key: a second copy of a crime or person, right after the first.
    k_dup = plan["duplicate_key"]
    k_crimes = max(1, round(k_dup * 0.6))
    free = np.array([c not in used_crime_ids for c in ids.tolist()], dtype=bool)
    dup_crime_rows = np.sort(rng.choice(np.flatnonzero(free), size=k_crimes, replace=False))
    copies = crimes[dup_crime_rows.tolist()]
    truth += [("crimes", c, "duplicate_key") for c in copies["crime_id"].to_list()]
    dup_person_rows = np.sort(
        rng.choice(
            persons.height, size=min(persons.height, max(1, k_dup - k_crimes)), replace=False
        )
    )
    person_copies = persons[dup_person_rows.tolist()].with_columns(
        pl.col("name").str.to_uppercase()
    )
    truth += [("persons", p, "duplicate_key") for p in person_copies["person_id"].to_list()]

    crimes = pl.concat([crimes, pl.DataFrame(new_crimes, schema=crimes.schema), copies])
    crimes = crimes.sort("crime_id", maintain_order=True)
    persons = pl.concat([persons, person_copies]).sort("person_id", maintain_order=True)
    victims = pl.concat([victims, pl.DataFrame(new_victims, schema=victims.schema)]).sort(
        ["crime_id", "person_id"], maintain_order=True
    )
    suspects = pl.concat([suspects, pl.DataFrame(new_suspects, schema=suspects.schema)]).sort(
        ["crime_id", "person_id"], maintain_order=True
    )
    del as_of
    return Dirty(crimes, persons, victims, suspects, _truth(truth), _dups(dup_pairs), text_column)


def _member(values: pl.Series, among: pl.Series) -> np.ndarray:
    return values.is_in(among.unique()).to_numpy()


def _apply(
    frame: pl.DataFrame, updates: dict[str, list[tuple[np.ndarray, object]]]
) -> pl.DataFrame:
    for column, changes in updates.items():
        values = frame[column].to_list()
        for rows, new in changes:
            for i, r in enumerate(rows.tolist()):
                v = new[i] if isinstance(new, np.ndarray) else new
                if isinstance(v, np.datetime64):
                    v = v.astype("datetime64[D]").item()
                values[r] = v
        frame = frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))
    return frame


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


def _unused(d: date) -> None:
    del d
