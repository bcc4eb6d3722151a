"""Command-line commands for area meetings: ``chi decisions`` and ``chi impact``.

Kept apart from ``chi.cli`` like the app's commands, and registered on the same ``chi``
command. ``chi decisions import`` is how a force brings its existing meeting records into
the state store (and how the generator's engagements become decisions); ``chi decisions
list`` shows the last decision per person; ``chi impact`` prints the impact review of a
run, the same figures and words as the app's Impact page.

The state store comes from ``--store`` or else the app configuration (``--config`` or
``$CHI_CONFIG``). Imports and listings are written to the audit log as done by
``cli:<operating-system user>``; notes are printed only when asked for.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chi.cli.common import (
    AREA_HELP,
    ConfigOption,
    RunArgument,
    actor,
    add_group,
    fail,
    state_store,
)

if TYPE_CHECKING:
    import polars as pl

    from chi.meetings.impact import ImpactResult

StoreOption = Annotated[
    Path | None, typer.Option("--store", help="State store file (default: the app's).")
]


def decisions_import(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file, one decision per row.")],
    store: StoreOption = None,
    recorded_by: Annotated[
        str | None, typer.Option(help="Who the import is recorded as (default: cli:<user>).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Import meeting decisions; rejected rows are listed with their row number and reason.

    Columns: person_id, list_month (or index_month), area, meeting_date, decision, and
    optionally subject_type (victim or offender), service, engagement_start, engagement_end,
    notes, owner, review_date. Dates are YYYY-MM-DD or DD/MM/YYYY. A row identical to a
    decision already recorded is counted as unchanged, so an import can be repeated.
    """
    from chi.meetings.importing import import_decisions

    if not file.is_file():  # before the store: a mistyped file must not create one
        raise fail(f"{file}: no such file")
    st = state_store(config, store)
    try:
        report = import_decisions(st, file, recorded_by or actor())
    except ValueError as exc:
        raise fail(exc) from None
    typer.echo(
        f"read {report.read:,}  imported {report.imported:,}  unchanged {report.unchanged:,}  "
        f"rejected {len(report.rejected):,}"
    )
    for row, reason in report.rejected[:50]:
        typer.echo(f"  row {row}: {reason}")
    if len(report.rejected) > 50:
        typer.echo(f"  ... and {len(report.rejected) - 50} more rejected rows")


def decisions_list(
    store: StoreOption = None,
    area: Annotated[str | None, typer.Option(help=AREA_HELP)] = None,
    month: Annotated[str | None, typer.Option(help="One meeting's list month, YYYY-MM.")] = None,
    person: Annotated[str | None, typer.Option(help="One person's full history.")] = None,
    subject: Annotated[str, typer.Option(help="victim or offender.")] = "victim",
    due: Annotated[
        str | None, typer.Option(help="Only reviews due on or before this date, YYYY-MM-DD.")
    ] = None,
    notes: Annotated[bool, typer.Option("--notes", help="Show the notes too.")] = False,
    config: ConfigOption = None,
) -> None:
    """List each person's last decision (or one meeting's decisions, or one person's history)."""
    from chi.meetings.decisions import (
        COLUMNS,
        SUBJECT_TYPES,
        actions_due,
        for_meeting,
        history,
        latest,
    )

    if subject not in SUBJECT_TYPES:
        raise fail(f"--subject must be one of {', '.join(SUBJECT_TYPES)}")
    st = state_store(config, store, must_exist=True)
    where = None
    if area:
        from chi.reference import geography

        geo = geography()
        where = geo.find_area(area)
        if where is None:
            raise fail(f"--area must be one of {', '.join(geo.areas)}")
    try:
        if person:
            frame = history(st, subject, person)
        elif month:
            frame = for_meeting(st, subject, month, where)
        elif due:
            frame = actions_due(st, subject, date.fromisoformat(due), where)
        else:
            frame = latest(st, subject, area=where)
    except ValueError as exc:
        raise fail(exc) from None
    st.record(
        actor(),
        "decisions_listed",
        month=month,
        scope=where,
        rows=frame.height,
        person_id=person,
        detail=subject,
    )
    if frame.is_empty():
        typer.echo("no decisions recorded")
        return
    hidden = {"id", "subject_type", "notes", "recorded_at", "source"}
    columns = [c for c in COLUMNS if c not in hidden] + (["notes"] if notes else [])
    _echo_frame(frame.select(columns))


def _echo_frame(frame: pl.DataFrame) -> None:
    from chi.cli.common import echo_table

    rows = [{k: "" if v is None else v for k, v in r.items()} for r in frame.to_dicts()]
    echo_table(rows, frame.columns)


def _pct(x: float) -> str:
    from chi.meetings.impact import signed_percent

    return signed_percent(x)


def print_impact(result: ImpactResult, heading: str) -> None:
    """The impact table, the estimates and the explanation, as ``chi impact`` prints them."""
    typer.echo(heading)
    typer.echo("")
    typer.echo(f"{'':<22}{'people':>8}{'before':>12}{'after':>12}{'change':>9}")
    for m, unit in (
        (result.harm, "harm, days per person"),
        (result.victimisations, "victimisations"),
    ):
        typer.echo(unit)
        for group, n, before, after in (
            ("  engaged", result.engaged, m.before_engaged, m.after_engaged),
            ("  comparison", result.comparison, m.before_comparison, m.after_comparison),
        ):
            change = _pct(after / before - 1) if before else "n/a"
            typer.echo(f"{group:<22}{n:>8,}{before:>12,.2f}{after:>12,.2f}{change:>9}")
    typer.echo("")
    typer.echo("difference in differences (proportional), 95% bootstrap interval:")
    for m, p in (
        (result.harm, result.placebo_harm),
        (result.victimisations, result.placebo_victimisations),
    ):
        typer.echo(
            f"  {m.name:<16} {_pct(m.relative_effect):>6}  ({_pct(m.ci_low)} to "
            f"{_pct(m.ci_high)})   naive before/after {_pct(m.naive_change)}   placebo "
            f"{_pct(p.relative_effect)} ({_pct(p.ci_low)} to {_pct(p.ci_high)})"
        )
    typer.echo(
        f"unmatched engaged people (no comparison in their stratum): "
        f"{result.unmatched_engaged:,}; not yet reviewable: {result.not_yet_reviewable:,}; "
        f"not on the list in their index month: {result.not_listed:,}; found a comparison: "
        f"{result.matched_share:.0%} of {result.reviewable:,} reviewable"
    )
    if result.balance:
        typer.echo("")
        typer.echo("balance (standardised mean difference, before and after matching):")
        for b in result.balance:
            flag = "  above 0.1" if abs(b.smd_after) > 0.1 else ""
            typer.echo(f"  {b.feature:<40}{b.smd_before:>+8.3f}{b.smd_after:>+8.3f}{flag}")
    typer.echo("")
    if result.withheld:
        for line in textwrap.wrap("NO VERDICT: " + " ".join(result.withheld), width=96):
            typer.echo(line)
        typer.echo("")
    for line in textwrap.wrap(result.explanation(), width=96):
        typer.echo(line)
    power = result.power_text()
    if power:
        typer.echo("")
        for line in textwrap.wrap(power, width=96):
            typer.echo(line)


def read_engagements(path: Path) -> pl.DataFrame:
    """person_id and index_month from a CSV or Parquet file (``list_month`` also accepted)."""
    import polars as pl

    try:
        frame = (
            pl.read_csv(path, infer_schema=False)
            if path.suffix.lower() == ".csv"
            else pl.read_parquet(path)
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValueError(f"{path}: cannot be read ({type(exc).__name__})") from None
    if "index_month" not in frame.columns and "list_month" in frame.columns:
        frame = frame.rename({"list_month": "index_month"})
    missing = [c for c in ("person_id", "index_month") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame.select(pl.col("person_id").cast(pl.String), pl.col("index_month").cast(pl.String))


def impact(
    run: RunArgument,
    cohort: Annotated[
        str, typer.Option(help="engaged, decision:TYPE or meeting:YYYY-MM.")
    ] = "engaged",
    store: StoreOption = None,
    engagements: Annotated[
        Path | None,
        typer.Option(help="A file of person_id, index_month instead of the store's decisions."),
    ] = None,
    before: Annotated[int, typer.Option(help="Months before, ending with the list month.")] = 6,
    after: Annotated[int, typer.Option(help="Months after the list month.")] = 6,
    reps: Annotated[int, typer.Option(help="Bootstrap draws for the interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 1,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the review as JSON here.")
    ] = None,
    pdf_out: Annotated[
        Path | None, typer.Option("--pdf", help="Also write the impact pack (PDF) here.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Impact review: did the cohort's harm fall more than matched listed people's?

    Compares the cohort (by default everyone given neighbourhood engagement) with listed
    people who were not, from the same list month, area, listing reasons,
    domestic abuse and new or continuing status, matched on their month-by-month harm and
    victimisations before; prints the naive before/after change next to the difference in
    differences with its bootstrap interval and a placebo, the balance table, the smallest
    detectable effect, and the verdict or why it is withheld.
    """
    import polars as pl

    from chi.meetings.decisions import cohort as cohort_of
    from chi.meetings.impact import run_review
    from chi.scoring.runs import RunError, open_run

    if engagements is not None and (store is not None or cohort != "engaged"):
        raise fail("give --engagements FILE or a store cohort (--store, --cohort), not both")
    if min(before, after) < 1 or reps < 0:
        raise fail("--before and --after must be at least 1 and --reps zero or more")
    try:
        r = open_run(run)
        if engagements is not None:
            engaged = read_engagements(engagements)
            label = str(engagements)
        else:
            engaged = cohort_of(state_store(config, store, must_exist=True), cohort)
            label = cohort
        result = run_review(
            r,
            pl.read_parquet(r.file("victim_list")),
            pl.read_parquet(r.file("victimisations")),
            engaged,
            before_months=before,
            after_months=after,
            reps=reps,
            seed=seed,
        )
    except (ValueError, RunError) as exc:
        raise fail(exc) from None
    print_impact(
        result,
        f"impact review of run {r.run_id}: cohort {label}; {before} months before, "
        f"{after} after; {reps} bootstrap draws",
    )
    if json_out is not None:
        body = {"run_id": r.run_id, "cohort": label, **result.as_dict()}
        json_out.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
        typer.echo(f"written to {json_out}", err=True)
    if pdf_out is not None:
        from chi.exports.formats import ExportMeta
        from chi.meetings.impact import review_pdf

        meta = ExportMeta.from_manifest(
            r.manifest,
            title=f"Impact review: {label}",
            month=r.manifest.months[-1],
            scope="force-wide",
            exported_by="cli",
        )
        pdf_out.write_bytes(review_pdf(result, meta))
        typer.echo(f"written to {pdf_out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the meeting commands to the ``chi`` command line."""
    add_group(
        app,
        "decisions",
        "Area meeting decisions in the state store: import and list.",
        {"import": decisions_import, "list": decisions_list},
    )
    app.command("impact")(impact)
