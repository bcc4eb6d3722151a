"""A force's history as the backtest needs it, read once from a run's staged tables.

The backtest works from the accepted, weighted rows of ``chi.scoring.prepare.prepare`` (the same
victimisations the lists are scored from, so a backtest and a run never disagree on what a
victimisation is): for a run, the staged tables it keeps (``chi.scoring.staged``, the same rows,
so the extract is not read again); for a run from before them, or an extract, ``prepare``
itself. It keeps only what forecasting uses, as polars frames:

- ``victimisations``: counted victimisations of individuals, with the weight in exact
  hundredths of a day (``weight_c``, 0 when no weight was found: excluded from harm,
  still a victimisation), DA flag, DASH grade (0 none, 1 standard, 2 medium, 3 high) and the
  neighbourhood where the crime happened;
- ``suspect_events``: each counted recorded crime on which an individual is a suspect,
  offender or charged;
- ``da_links``: (offender, victim) pairs sharing a counted recorded DA crime;
- ``persons``: individuals with sex, birth date, ethnicity, home neighbourhood, and date
  of death (for eligibility only).

Each individual also gets ``pix``, their position in person_id order, carried by every
frame: the feature table joins and sorts millions of person-months on it, which is far
quicker than on text, and ordering by ``pix`` is ordering by person_id. It is also their
row of ``persons`` (checked when a History is made), so a person's attributes are taken
by position rather than joined.

Organisations are left out throughout: a victim list is a list of people, so neither the
pool nor the harm a list could catch includes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from chi.progress import Progress, silent
from chi.reference import geography
from chi.scoring.policy import Policy
from chi.scoring.prepare import Prepared, prepare
from chi.scoring.runs import Run
from chi.scoring.staged import (
    has_staged,
    is_synthetic,
    prepared_frames,
    staged_frames,
    staged_run,
)

DASH_LEVELS = ("standard", "medium", "high")
DASH_RANK = {level: rank for rank, level in enumerate(DASH_LEVELS, 1)}


@dataclass(frozen=True)
class History:
    victimisations: pl.DataFrame
    suspect_events: pl.DataFrame
    da_links: pl.DataFrame
    persons: pl.DataFrame
    first_month: date | None
    as_of: date
    policy: Policy
    force: str | None
    synthetic: bool
    extract_path: str

    def __post_init__(self) -> None:
        rows = pl.int_range(self.persons.height, eager=True, dtype=pl.Int64)
        if not (self.persons["pix"].cast(pl.Int64) == rows).all():
            raise ValueError("persons must be in pix order, pix being the row (0, 1, 2, ...)")

    def describe(self) -> dict[str, Any]:
        """Sizes and dates only (no personal data): for manifests, cards and logs."""
        return {
            "extract": self.extract_path,
            "force": self.force,
            "synthetic": self.synthetic,
            "first_month": self.first_month.isoformat()[:7] if self.first_month else None,
            "as_of": self.as_of.isoformat(),
            "victimisations": self.victimisations.height,
            "individuals": self.persons.height,
        }


def history_from(p: Prepared) -> History:
    """The backtest's view of a prepared extract."""
    return _history(
        prepared_frames(p),
        as_of=p.as_of,
        policy=p.policy,
        force=p.extract.meta.force,
        synthetic=is_synthetic(p.extract.folder),
        extract_path=str(p.extract.folder.resolve()),
    )


def _dash(levels: tuple[str, ...]) -> pl.Expr:
    """0 without a DASH grade, else the grade's position in ``levels`` from 1 (Int8)."""
    return (
        pl.col("dash_risk")
        .replace_strict(list(levels), list(range(1, len(levels) + 1)), default=0)
        .fill_null(0)
        .cast(pl.Int8)
    )


def _history(
    t: dict[str, pl.DataFrame],
    as_of: date,
    policy: Policy,
    force: str | None,
    synthetic: bool,
    extract_path: str,
) -> History:
    """The backtest's frames from staged tables (``t``: each in the order a run publishes
    it, ``chi.scoring.staged``). Every join keeps its left side's order and, within a key,
    its right side's, so the frames come out in (recorded date, crime_id, person) order
    without a sort."""
    crimes = t["crimes"]
    first = crimes["recorded_date"].min()
    counted = crimes.filter((pl.col("status") == "recorded") & pl.col("counted")).sort(
        "recorded_date", maintain_order=True
    )  # the staged crimes are in crime_id order
    individual_ids = t["persons"].filter(pl.col("person_type") == "individual").select("person_id")
    places = t["ref_lsoa"].select("lsoa_code", place="neighbourhood_code")
    victimisations = (
        counted.select("crime_id", "recorded_date", "weight", "domestic_abuse", "lsoa_code")
        .join(t["victims"], on="crime_id", maintain_order="left_right")
        .join(individual_ids, on="person_id", how="semi", maintain_order="left")
        .join(places, on="lsoa_code", how="left", maintain_order="left")
        .select(
            "person_id",
            "crime_id",
            "recorded_date",
            weight_c=(pl.col("weight").fill_null(0) * 100).cast(pl.Int64),
            weighted=pl.col("weight").is_not_null(),
            domestic_abuse="domestic_abuse",
            dash=_dash(DASH_LEVELS),
            place="place",
        )
    )
    suspect_events = (
        counted.select("crime_id", "recorded_date")
        .join(t["suspects"], on="crime_id", maintain_order="left_right")
        .join(individual_ids, on="person_id", how="semi", maintain_order="left")
        .select("person_id", "crime_id", "recorded_date")
        .unique(maintain_order=True)  # a suspect in two roles is one event
    )
    da_links = (
        counted.filter(pl.col("domestic_abuse"))
        .select("crime_id", "recorded_date")
        .join(
            t["suspects"].select("crime_id", offender_id="person_id"),
            on="crime_id",
            maintain_order="left_right",
        )
        .join(
            t["victims"].select("crime_id", victim_id="person_id"),
            on="crime_id",
            maintain_order="left_right",
        )
        .filter(pl.col("offender_id") != pl.col("victim_id"))
        .join(
            individual_ids.rename({"person_id": "victim_id"}),
            on="victim_id",
            how="semi",
            maintain_order="left",
        )
        .select("offender_id", "victim_id", "crime_id", "recorded_date")
        .unique(maintain_order=True)
    )
    persons = (
        t["persons"]
        .filter(pl.col("person_type") == "individual")
        .join(
            t["ref_lsoa"].select(
                home_lsoa_code="lsoa_code", home_neighbourhood="neighbourhood_code"
            ),
            on="home_lsoa_code",
            how="left",
            maintain_order="left",
        )
        .select(
            "person_id", "sex", "birth_date", "ethnicity", "home_neighbourhood", "deceased_date"
        )
        .with_row_index("pix")
    )  # the staged persons are in person_id order
    index = persons.select("person_id", "pix")
    victimisations = victimisations.join(index, on="person_id", how="inner", maintain_order="left")
    suspect_events = suspect_events.join(index, on="person_id", how="inner", maintain_order="left")
    da_links = da_links.join(
        index.rename({"person_id": "victim_id"}), on="victim_id", how="inner", maintain_order="left"
    )
    return History(
        victimisations=victimisations,
        suspect_events=suspect_events,
        da_links=da_links,
        persons=persons,
        first_month=date(first.year, first.month, 1) if isinstance(first, date) else None,
        as_of=as_of,
        policy=policy,
        force=force,
        synthetic=synthetic,
        extract_path=extract_path,
    )


def load_history(extract: Path, policy: Policy, progress: Progress = silent) -> History:
    with prepare(extract, policy=policy, progress=progress) as p:
        return history_from(p)


def run_history(run: Run, progress: Progress = silent) -> History:
    """The history behind a published run: its staged tables when it has them (checked
    against its manifest; the extract is not read again), else its extract under its policy
    and as-of date, refused, as ``chi rerun`` does, when the extract's files, its
    extract.json or the weight set changed since the run."""
    from chi.scoring.runs import rerun_inputs

    if has_staged(run):
        progress("reading the run's staged tables", 0.1)
        info = staged_run(run)
        tables, _truth = staged_frames(run)
        return _history(
            tables,
            as_of=info.as_of,
            policy=info.policy,
            force=info.force,
            synthetic=info.synthetic,
            extract_path=info.extract_path,
        )

    extract, policy, _months, as_of = rerun_inputs(run)
    with prepare(extract, policy=policy, progress=progress, as_of=as_of) as p:
        return history_from(p)


def neighbourhood_areas() -> pl.DataFrame:
    """neighbourhood_code -> area, from the force's geography (:func:`chi.reference.geography`)."""
    places = geography().neighbourhoods
    return pl.DataFrame(
        {"neighbourhood_code": [n.code for n in places], "area": [n.area for n in places]},
        schema={"neighbourhood_code": pl.String, "area": pl.String},
    )
