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
quicker than on text, and ordering by ``pix`` is ordering by person_id.

Organisations are left out throughout: a victim list is a list of people, so neither the
pool nor the harm a list could catch includes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from chi import sql
from chi.progress import Progress, silent
from chi.reference import geography
from chi.scoring.policy import Policy
from chi.scoring.prepare import Prepared, prepare
from chi.scoring.runs import Run
from chi.scoring.staged import Staged, has_staged, is_synthetic, open_staged

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


def _frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    frame: pl.DataFrame = sql.run(con, f"forecast/{name}", params).pl()
    return frame


def history_from(p: Prepared) -> History:
    """The backtest's view of a prepared extract."""
    return _history(
        p.con,
        as_of=p.as_of,
        policy=p.policy,
        force=p.extract.meta.force,
        synthetic=is_synthetic(p.extract.folder),
        extract_path=str(p.extract.folder.resolve()),
    )


def history_from_staged(s: Staged) -> History:
    """The backtest's view of a run's staged tables (the same rows ``prepare`` made)."""
    return _history(
        s.con,
        as_of=s.as_of,
        policy=s.policy,
        force=s.force,
        synthetic=s.synthetic,
        extract_path=s.extract_path,
    )


def _history(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    policy: Policy,
    force: str | None,
    synthetic: bool,
    extract_path: str,
) -> History:
    victimisations = _frame(con, "victimisations", {"dash_levels": list(DASH_LEVELS)})
    suspect_events = _frame(con, "suspect_events")
    da_links = _frame(con, "da_links")
    persons = _frame(con, "persons")
    persons = persons.with_row_index("pix")
    index = persons.select("person_id", "pix")
    victimisations = victimisations.join(index, on="person_id", how="inner", maintain_order="left")
    suspect_events = suspect_events.join(index, on="person_id", how="inner", maintain_order="left")
    da_links = da_links.join(
        index.rename({"person_id": "victim_id"}), on="victim_id", how="inner", maintain_order="left"
    )
    [(first,)] = sql.run(con, "lists/first_recorded").fetchall()
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
        with open_staged(run) as s:
            return history_from_staged(s)

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
