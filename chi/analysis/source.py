"""The facts the analyses need, read once from a run's staged tables.

A problem profile needs more than the lists: outcomes, suspects, the DA links and people's
age and sex. A run keeps the accepted, weighted rows it was scored from (its staged
tables, ``chi.scoring.staged``, checked against the manifest's checksums), and :func:`load_run`
reads them, so a figure always belongs to a run and the extract is not read, validated or
weighted again. A run published before the staged tables is read from its extract with
the run's own policy, weight set and as-of date (``chi.scoring.prepare.prepare``, the one way into
the scoring model), refused if the extract's files no longer match the run's checksums;
:func:`load_extract` does the same for an extract in tests. Both give the same frames
(``tests/test_staged.py``).

What leaves this module is five polars frames of the whole extract, never filtered, because
follow-up and history reach beyond any period or area:

- ``crimes``: every recorded crime (``status = 'recorded'``), its month, weight, Home Office
  offence code (``ho_code``), DA flag and relationship, outcome, and place (neighbourhood,
  district, area of the crime's LSOA);
- ``victimisations``: one row per (recorded crime, victim), with the victim's type, sex and
  age band at the time;
- ``suspects``: one row per (recorded crime, suspect) of individuals;
- ``da_links``: one row per (offender, victim, DA crime) as the dyads are built from;
- ``people``: sex and age band are computed here; names and dates of birth never leave.

The **Home Office offence code** of a crime (``ho_code``) is the weight set's
``classification_code`` of its exact offence key; failing that, the code shared by every
weight row of its ``ho_class`` or of its offence group; failing that, the class number of
``ho_class``. Its **class/subclass** (``ho_subclass``, ``CCC/SS``) is the exact key's, else
the crime's own ``ho_class``. Place
is where the crime happened; a crime with no mapped LSOA counts force-wide only.

The queries are the files of ``sql/analysis/`` (``crimes``, made the table ``analysis_crimes``,
then ``crimes_read``, ``victimisations``, ``suspects``, ``da_links``); the age band is the
``age_band`` macro, whole years by the ``age_years`` macro the lists use.
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
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.runs import Run, RunError, file_changes
from chi.scoring.staged import has_staged, open_staged, truth_path

AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over", "unknown")
"""The analyses' age bands, in order: the ``age_band`` macro's
(``sql/analysis/age_band_macro.sql``)."""


@dataclass(frozen=True)
class Source:
    """Everything the analyses read, for one run (or one extract, in tests)."""

    as_of: date
    force: str | None
    run_id: str | None
    policy: Policy
    weights: str
    crimes: pl.DataFrame
    victimisations: pl.DataFrame
    suspects: pl.DataFrame
    da_links: pl.DataFrame
    duplicates_truth: pl.DataFrame | None
    """The generator's ``truth/duplicates.parquet`` (demo extracts only), else None."""

    @property
    def first_month(self) -> date | None:
        if self.crimes.is_empty():
            return None
        first: date = self.crimes["recorded_date"].min()  # type: ignore[assignment]
        return date(first.year, first.month, 1)


def _frame(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    frame: pl.DataFrame = sql.run(con, f"analysis/{name}").pl()
    return frame


def _read(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The analyses' frames from the tables ``prepare`` makes (or a run's staged copy), by the
    files of ``sql/analysis/`` (the age band by its macro, on the ``age_years`` macro that
    ``prepare`` and ``open_staged`` already define)."""
    sql.run(con, "analysis/age_band_macro")
    sql.create_table(con, "analysis_crimes", "analysis/crimes")
    return {
        "crimes": _frame(con, "crimes_read"),
        "victimisations": _frame(con, "victimisations"),
        "suspects": _frame(con, "suspects"),
        "da_links": _frame(con, "da_links"),
    }


def _truth(folder: Path) -> pl.DataFrame | None:
    path = truth_path(folder)
    return pl.read_parquet(path) if path.is_file() else None


def load_extract(
    extract: Path,
    policy: Policy | None = None,
    weights: str | None = None,
    progress: Progress = silent,
    expected_files: list[dict[str, Any]] | None = None,
    run_id: str | None = None,
    as_of: date | None = None,
) -> Source:
    """Read an extract for the analyses (``expected_files``: a run's manifest entries,
    which the extract must still match; ``as_of``: the run's as-of date)."""
    policy = policy or Policy()
    with prepare(
        Path(extract), weights=weights, policy=policy, progress=progress, as_of=as_of
    ) as p:
        if expected_files is not None:
            changes = file_changes(expected_files, p.extract.files_manifest())
            if changes:
                raise RunError(
                    f"{extract}: the extract has changed since run {run_id} was scored "
                    f"({'; '.join(changes)}); score it again before profiling"
                )
        progress("reading for the analyses", 0.7)
        frames = _read(p.con)
        return Source(
            as_of=p.as_of,
            force=p.extract.meta.force,
            run_id=run_id,
            policy=p.policy,
            weights=p.weight_set.name,
            duplicates_truth=_truth(Path(extract)),
            **frames,
        )


def load_staged(run: Run, progress: Progress = silent) -> Source:
    """Read a run's staged tables (published with the run, checked against its manifest)
    for the analyses: the same frames as :func:`load_extract` of the run's extract, without
    reading, validating or weighting the extract again."""
    progress("reading the run's staged tables", 0.2)
    with open_staged(run, victimisations=False) as s:
        progress("reading for the analyses", 0.7)
        frames = _read(s.con)
        truth = pl.from_arrow(s.duplicates_truth) if s.duplicates_truth is not None else None
        return Source(
            as_of=s.as_of,
            force=s.force,
            run_id=run.run_id,
            policy=s.policy,
            weights=s.weights,
            duplicates_truth=truth if isinstance(truth, pl.DataFrame) else None,
            **frames,
        )


def load_run(run: Run, progress: Progress = silent) -> Source:
    """The analyses' frames of a run: from its staged tables when it has them (every run
    published since they were added), else from its extract, re-read with the run's policy
    and weight set and refused when it changed since the run."""
    if has_staged(run):
        return load_staged(run, progress)
    m = run.manifest
    extract, weights, files = Path(m.extract.path), m.weights.name, m.extract.files
    try:
        policy = Policy.from_manifest(m.policy)
    except (KeyError, TypeError):
        raise RunError(f"{run.path}: manifest lacks the extract, policy or weights") from None
    if not extract.is_dir():
        raise RunError(f"{extract}: the extract of run {run.run_id} is no longer there")
    from chi.scoring.runs import rerun_inputs

    _, _, _, as_of = rerun_inputs(run)  # refuses a changed extract, extract.json or weights
    return load_extract(extract, policy, weights, progress, files, run.run_id, as_of)
