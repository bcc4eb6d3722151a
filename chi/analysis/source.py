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

The frames are built in polars from the staged tables (``chi.scoring.staged``: a run's
files, or a prepared extract's tables in the same rows and order), which is several times
cheaper than the same joins in DuckDB followed by a copy into polars; the age band is
``chi.scoring.ages.age_band``, whole years by the lists' ``age_years`` rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from chi.progress import Progress, silent
from chi.scoring.ages import age_band
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, RunError, file_changes
from chi.scoring.staged import (
    has_staged,
    prepared_frames,
    staged_frames,
    staged_run,
    truth_path,
)

AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over", "unknown")
"""The analyses' age bands, in order ("unknown": no date of birth)."""


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


AGE_BOUNDS = (18, 25, 35, 45, 55, 65)
"""The lower bounds of the age bands after the first (``AGE_BANDS``)."""


def _age_band(birth: str, on: str) -> pl.Expr:
    return age_band(pl.col(birth), pl.col(on), AGE_BOUNDS, AGE_BANDS[:-1], AGE_BANDS[-1])


def _first_part(column: pl.Expr, separator: str) -> pl.Expr:
    """The text before the first ``separator`` (all of it when there is none), as DuckDB's
    ``split_part(text, separator, 1)``."""
    return column.str.split(separator).list.first()


def _crimes(t: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Every recorded crime with its Home Office code, class/subclass, group and place, in
    (recorded date, crime_id) order (the staged crimes are in crime_id order)."""
    w = t["ref_weights"]
    code = pl.col("classification_code")
    one_code = [code.min().alias("code"), code.drop_nulls().n_unique().alias("codes")]
    by_class = w.group_by("ho_class").agg(one_code).filter(pl.col("codes") == 1)
    by_group = w.group_by("offence_group").agg(one_code).filter(pl.col("codes") == 1)
    exact = w.select(
        offence_code="offence_key", exact_code="classification_code", exact_class="ho_class"
    )
    places = t["ref_lsoa"].select(
        "lsoa_code", "neighbourhood_code", "neighbourhood_name", "district_name", "area"
    )
    class_number = _first_part(pl.col("ho_class"), "/").str.strip_chars_start("0")
    joined = (
        t["crimes"]
        .filter(pl.col("status") == "recorded")
        .with_columns(_group=_first_part(pl.col("offence_code"), "."))
        .join(exact, on="offence_code", how="left", maintain_order="left")
        .join(
            by_class.select("ho_class", class_code="code"),
            on="ho_class",
            how="left",
            maintain_order="left",
        )
        .join(
            by_group.select(_group="offence_group", group_code="code"),
            on="_group",
            how="left",
            maintain_order="left",
        )
        .join(places, on="lsoa_code", how="left", maintain_order="left")
    )
    return joined.select(
        "crime_id",
        "recorded_date",
        "month",
        "offence_code",
        "ho_class",
        ho_code=pl.coalesce(
            "exact_code",
            "class_code",
            "group_code",
            pl.when(class_number != "").then(class_number),
            "_group",
        ),
        ho_subclass=pl.coalesce("exact_class", "ho_class"),
        offence_group=_first_part(pl.coalesce("offence_code", "ho_class"), "."),
        weight=pl.col("weight").cast(pl.Float64),
        basis="basis",
        counted="counted",
        domestic_abuse="domestic_abuse",
        da_relationship="da_relationship",
        outcome_code="outcome_code",
        outcome_date="outcome_date",
        neighbourhood_code="neighbourhood_code",
        neighbourhood_name="neighbourhood_name",
        district_name="district_name",
        area="area",
    ).sort("recorded_date", maintain_order=True)


def analysis_frames(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The analyses' frames from a run's staged tables (each in the order it is published,
    ``chi.scoring.staged``). Every join keeps the order of its left side and, within a key,
    of its right, so each frame comes out in its documented order without a sort: crimes by
    (recorded date, crime_id), their victims, suspects and links by person. The four are
    planned together and collected at once (``pl.collect_all``), so the crimes they share
    are computed once and only the columns used are read; polars' in-memory engine, which
    keeps every join's order as the eager frames did (and was faster here than streaming)."""
    plans = _frame_plans({name: frame.lazy() for name, frame in tables.items()})
    names = list(plans)
    frames = pl.collect_all([plans[name] for name in names], engine="in-memory")
    return dict(zip(names, frames, strict=True))


def _frame_plans(t: dict[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    crimes = _crimes(t)
    persons = t["persons"]
    individuals = persons.filter(pl.col("person_type") == "individual")
    victimisations = (
        crimes.join(t["victims"], on="crime_id", maintain_order="left_right")
        .join(persons, on="person_id", maintain_order="left")
        .select(
            "crime_id", "person_id", "person_type", "recorded_date", "weight", "counted",
            "domestic_abuse", "da_relationship", "dash_risk", "ho_code", "ho_subclass",
            "offence_group", "neighbourhood_code", "area", "outcome_code",
            sex=pl.col("sex").fill_null("unknown"),
            age_band=_age_band("birth_date", "recorded_date"),
        )
    )  # fmt: skip
    suspects = (
        crimes.select("crime_id", "recorded_date")
        .join(t["suspects"], on="crime_id", maintain_order="left_right")
        .join(individuals.select("person_id"), on="person_id", how="semi", maintain_order="left")
        .select("crime_id", "person_id", "role", "recorded_date")
    )
    da_links = (
        crimes.filter(pl.col("domestic_abuse"))
        .join(
            t["suspects"].select("crime_id", offender_id="person_id"),
            on="crime_id",
            maintain_order="left_right",
        )
        .join(
            t["victims"].select("crime_id", "dash_risk", victim_id="person_id"),
            on="crime_id",
            maintain_order="left_right",
        )
        .filter(pl.col("offender_id") != pl.col("victim_id"))
        .join(
            individuals.select(offender_id="person_id", offender_sex="sex", _birth="birth_date"),
            on="offender_id",
            maintain_order="left",
        )
        .join(
            individuals.select(victim_id="person_id"),
            on="victim_id",
            how="semi",
            maintain_order="left",
        )
        .select(
            "offender_id", "victim_id", "crime_id", "recorded_date", "weight", "counted",
            "da_relationship", "dash_risk", "neighbourhood_code", "area",
            offender_sex=pl.col("offender_sex").fill_null("unknown"),
            offender_age_band=_age_band("_birth", "recorded_date"),
        )
    )  # fmt: skip
    return {
        "crimes": crimes,
        "victimisations": victimisations,
        "suspects": suspects,
        "da_links": da_links,
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
    from chi.scoring.prepare import prepare

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
        frames = analysis_frames(prepared_frames(p))
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
    info = staged_run(run)
    tables, truth = staged_frames(run)
    progress("reading for the analyses", 0.7)
    return Source(
        as_of=info.as_of,
        force=info.force,
        run_id=run.run_id,
        policy=info.policy,
        weights=info.weights,
        duplicates_truth=truth,
        **analysis_frames(tables),
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
