"""Command-line commands for the analyses: ``chi profile`` (the DA problem profile and the
board's safeguarding table as HTML, JSON and PDF).

Registered on the ``chi`` command by ``chi.cli``. The work is in ``chi.analysis``; this
module only reads options, reports progress on a terminal and turns known failures into
one line on stderr with exit code 2.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from chi.cli.common import AREA_HELP, RunArgument


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``chi`` command line."""
    app.command(name="profile")(profile)


def profile(
    run: RunArgument,
    period: Annotated[str, typer.Option(help="Months profiled, e.g. 2024-01:2024-12 (inclusive).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML report here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the same figures as JSON here.")
    ] = None,
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also print the report to PDF (needs Chromium or Chrome)."),
    ] = None,
    area: Annotated[str | None, typer.Option(help=AREA_HELP + " Default: force-wide.")] = None,
    month: Annotated[
        str | None,
        typer.Option(help="Month of the board table, YYYY-MM (default: the period's last)."),
    ] = None,
    duplicate_days: Annotated[
        int, typer.Option(help="Over-recording audit: days between two recordings.")
    ] = 7,
    year_end_month: Annotated[
        int, typer.Option(help="Month the board's baseline year ends (3 = March).")
    ] = 3,
    marking: Annotated[str, typer.Option(help="Handling marking printed on the report.")] = (
        "OFFICIAL"
    ),
    partial: Annotated[
        bool,
        typer.Option(
            "--partial", help="Allow a period that starts before the extract's first month."
        ),
    ] = False,
) -> None:
    """Write the domestic abuse problem profile and the board's safeguarding table.

    Every figure comes from the run: the staged tables it keeps (a run from before them is
    read from its extract, which must be unchanged since it was scored); every sentence is
    generated from the figures. The HTML is self-contained
    (charts embedded, works offline, prints on A4); the JSON holds the same figures for
    other tools. Aggregate figures only: no personal data.
    """
    from chi.analysis.profile import Request, build_profile, check_request
    from chi.analysis.report import html_to_pdf, render_html, render_json
    from chi.analysis.source import load_run
    from chi.cli.common import clear_errors
    from chi.progress import terminal_progress
    from chi.reading.lists import Scope, area_scope
    from chi.scoring.runs import extract_first_month, open_run

    if out is None and json_out is None and pdf is None:
        typer.echo("chi: give at least one of --out, --json and --pdf", err=True)
        raise typer.Exit(2)
    with clear_errors():
        scope = area_scope(area) if area else Scope.force()
        request = Request.for_period(period, scope, month, duplicate_days, year_end_month)
        r = open_run(run)
        check_request(request, r.manifest.extract.as_of_date)
        first = extract_first_month(r)
        if first and request.start < date.fromisoformat(f"{first}-01"):
            message = (
                f"period {period} starts before the extract's first month ({first}), so "
                "it would count only part of the period"
            )
            if not partial:
                raise ValueError(f"{message}; start at {first} or later, or give --partial")
            typer.echo(f"partial period: {message}", err=True)
        with terminal_progress("profile") as progress:
            source = load_run(r, progress)
            progress("analysing", 0.8)
            result = build_profile(source, request)
            progress("writing", 0.9)
            document = render_html(result, marking) if out or pdf else ""
            outputs: list[tuple[Path | None, bytes | None]] = [
                (out, document.encode("utf-8") if out else None),
                (json_out, render_json(result).encode("utf-8") if json_out else None),
                (pdf, html_to_pdf(document) if pdf else None),
            ]
            for path, content in outputs:
                if path is None or content is None:
                    continue
                try:
                    path.write_bytes(content)
                except OSError as exc:
                    raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
            progress("done", 1.0)
    if result.notice:
        typer.echo(result.notice)
    typer.echo(result.readings["headline"])
    typer.echo(result.readings["board"])
    for path in (out, json_out, pdf):
        if path:
            typer.echo(str(path))
