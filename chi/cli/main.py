"""The ``chi`` command line: one command per pipeline step.

Commands import their modules lazily so that ``chi --help`` is instant. Every command turns
chi's own errors (a bad extract, an unknown weight set, a bad policy) into one clear line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click import ClickException, Context
from typer.core import TyperGroup

from chi.cli.common import (
    AREA_HELP,
    ConfigOption,
    RunArgument,
    actor,
    clear_errors,
    echo_table,
    fail,
    state_store,
    use_config_geography,
)

_DEBUG = {"on": False}

CLASS_RULE_HELP = "Weight of a crime with only its Home Office class: lowest or typical."


class _ErrorBoundary(TyperGroup):
    """The command line's one error boundary: whatever a command raises that is not chi's
    own clear error (a full disk, a read-only folder, a damaged file DuckDB or Arrow cannot
    read, a bug) becomes one line on stderr naming the file and what to do, and exit code 2.
    ``chi --debug COMMAND`` shows the traceback instead."""

    def invoke(self, ctx: Context) -> object:
        with _noting_ctrl_c() as pressed:
            try:
                return super().invoke(ctx)
            except (typer.Exit, typer.Abort, ClickException):
                raise
            except KeyboardInterrupt:
                typer.echo("chi: interrupted", err=True)
                raise typer.Exit(130) from None
            except Exception as exc:
                if _DEBUG["on"]:
                    raise
                if pressed.is_set():
                    # Ctrl-C, turned into a library's own error on the way (DuckDB raises
                    # "Query interrupted" from the statement it was running)
                    typer.echo("chi: interrupted", err=True)
                    raise typer.Exit(130) from None
                from chi.errors import describe

                typer.echo(f"chi: {describe(exc)}", err=True)
                raise typer.Exit(2) from None


@contextlib.contextmanager
def _noting_ctrl_c() -> Iterator[threading.Event]:
    """While a command runs, Ctrl-C (SIGINT) raises KeyboardInterrupt as Python's own handler
    does, and is remembered, so that an interrupt a library reports as its own error is still
    reported as an interrupt.

    It also stops every DuckDB statement running (:func:`chi.sql.interrupt_all`), from a
    thread of its own woken by the signal itself (``signal.set_wakeup_fd``): Python runs a
    signal handler only between instructions of the main thread, and DuckDB, running a
    statement there, misses the signal about one time in three (11 of 32 tries, measured).
    Left alone where SIGINT is not Python's default (ignored, or handled by a caller), where a
    wake-up file is already set (an event loop's), or off the main thread."""
    pressed = threading.Event()
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield pressed
        return
    # A socket pair, as asyncio uses: a wake-up file must be a socket on Windows.
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    theirs = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    if theirs != -1:
        signal.set_wakeup_fd(theirs)
        wake_r.close()
        wake_w.close()
        yield pressed
        return

    def note(signum: int, frame: FrameType | None) -> None:
        pressed.set()
        signal.default_int_handler(signum, frame)

    def watch() -> None:
        while chunk := wake_r.recv(64):
            if signal.SIGINT in chunk:
                pressed.set()
                sql = sys.modules.get("chi.sql")  # not imported: no statement runs
                if sql is not None:
                    sql.interrupt_all()

    watcher = threading.Thread(target=watch, name="chi-ctrl-c", daemon=True)
    signal.signal(signal.SIGINT, note)
    watcher.start()
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        wake_w.close()  # the watcher reads the end of the stream and stops
        watcher.join(timeout=5)
        wake_r.close()


if TYPE_CHECKING:
    from chi.scoring.runs import Run

app = typer.Typer(
    name="chi",
    help="Crime Harm Index victim-risk prioritisation: extracts -> validate -> score -> lists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_ErrorBoundary,
)


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
) -> None:
    """Crime Harm Index victim-risk prioritisation: extracts -> validate -> score -> lists."""
    _DEBUG["on"] = debug
    with contextlib.suppress(ValueError):  # the command that reads it says what is wrong
        use_config_geography()


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the extract into (created).")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed and arguments, same data.")] = 1,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2022-01",
    months: Annotated[int, typer.Option(help="Number of months of recorded crime.")] = 36,
    scale: Annotated[
        float, typer.Option(help="Multiplies volume and population (80 is about E&W).")
    ] = 1.0,
    defects: Annotated[
        float, typer.Option(help="Share of rows given a defect (0 = clean extract).")
    ] = 0.01,
    engagement_effect: Annotated[
        float | None,
        typer.Option(
            help="Engage 30% of each month's new listed victims and remove this fraction of "
            "their later victimisations (truth/engagements.parquet)."
        ),
    ] = None,
    engagement_selection: Annotated[
        str,
        typer.Option(
            help="Whom the meetings engage: random, top_harm (highest harm in the window), "
            "top_crimes (most crimes in the window) or escalating (harm rising over the last "
            "months); the non-random ones pick by rank with judgement on top."
        ),
    ] = "random",
) -> None:
    """Write a synthetic contract-v1 extract for Cambridgeshire and Peterborough.

    The extract is calibrated to the real 2024 police.uk figures and published research
    (see `chi calibrate`). Injected defects are listed in OUT/truth/defects.parquet.
    """
    from chi.generate import GenerateOptions, generate_extract
    from chi.progress import terminal_progress

    with clear_errors(), terminal_progress("generate") as progress:
        summary = generate_extract(
            out,
            GenerateOptions(
                seed=seed,
                start=start,
                months=months,
                scale=scale,
                defect_rate=defects,
                engagement_effect=engagement_effect,
                engagement_selection=engagement_selection,
            ),
            progress=progress,
        )
    for table, rows in summary.rows.items():
        typer.echo(f"{table:<10} {rows:>10,} rows")
    typer.echo(f"defects    {summary.defects:>10,} injected (truth/defects.parquet)")
    typer.echo(str(out))


@app.command()
def calibrate(
    extract: Annotated[Path, typer.Argument(help="Extract folder to measure.")],
) -> None:
    """Measure an extract against every calibration band; exit 1 if any band is missed."""
    from chi.generate.calibrate import measure_bands

    with clear_errors():
        results = measure_bands(extract)
    echo_table(
        [r.as_row() for r in results],
        ["band", "target", "measured", "met"],
    )
    missed = [r for r in results if not r.met]
    typer.echo(f"{len(results) - len(missed)} of {len(results)} bands met")
    if missed:
        raise typer.Exit(1)


@app.command()
def validate(
    extract: Annotated[Path, typer.Argument(help="Extract folder to check.")],
    weights: Annotated[
        str, typer.Option(help="Weight set to resolve offences against.")
    ] = "chi2020",
    class_rule: Annotated[
        str,
        typer.Option(help=CLASS_RULE_HELP),
    ] = "lowest",
) -> None:
    """Check an extract against the data contract and print the data-quality summary.

    Counts read, accepted and rejected per table (they always reconcile), rejections by
    table and reason, offence codes no weight could be found for, and the mix of weight
    bases. Exit code 0 even when rows are rejected: rejected rows are reported, not fatal.
    """
    from chi.progress import terminal_progress
    from chi.scoring.class_rule import totals as class_rule_totals
    from chi.scoring.policy import Policy
    from chi.scoring.prepare import prepare

    with (
        clear_errors(),
        terminal_progress("validate") as progress,
        prepare(
            extract, policy=Policy(weights=weights, class_rule=class_rule), progress=progress
        ) as p,
    ):
        counts = p.counts
        rules = p.rule_counts()
        at_class = class_rule_totals(p)
        rejects = p.reject_summary()
        unmatched = p.unmatched_codes()
        basis = p.basis_counts()
        as_of = p.as_of
    typer.echo(f"extract {extract} (as of {as_of})")
    typer.echo("")
    echo_table(
        [
            {
                "table": t,
                "read": c.read,
                "accepted": c.accepted,
                "rejected": c.rejected,
                "reconciles": "yes" if c.reconciles else "NO",
            }
            for t, c in counts.items()
        ],
        ["table", "read", "accepted", "rejected", "reconciles"],
    )
    typer.echo("")
    if rejects:
        typer.echo("rejections by reason (a row may fail more than one check):")
        echo_table(
            [{"table": t, "column": c, "reason": r, "rows": n} for t, c, r, n in rejects],
            ["table", "column", "reason", "rows"],
        )
    else:
        typer.echo("no rows rejected")
    typer.echo("")
    total = sum(basis.values()) or 1
    typer.echo(f"weight basis ({weights}):")
    echo_table(
        [{"basis": b, "crimes": n, "share": f"{100 * n / total:.1f}%"} for b, n in basis.items()],
        ["basis", "crimes", "share"],
    )
    typer.echo("")
    typer.echo(f"offence-code rules (class-level rule: {class_rule}):")
    echo_table(
        [{"basis": b, "rule": r, "crimes": n} for b, r, n in rules],
        ["basis", "rule", "crimes"],
    )
    if at_class["crimes"]:
        typer.echo(
            f"{at_class['crimes']:,} recorded crimes weighted at class level: "
            f"{at_class['harm_days']} days under {at_class['rule']}, "
            f"{at_class['harm_other_days']} under {at_class['other_rule']}"
        )
    if unmatched:
        typer.echo("")
        typer.echo("unmatched offence codes (no weight; excluded from harm):")
        echo_table(
            [{"offence_code": a, "ho_class": b, "crimes": n} for a, b, n in unmatched[:30]],
            ["offence_code", "ho_class", "crimes"],
        )
        if len(unmatched) > 30:
            typer.echo(f"... and {len(unmatched) - 30} more codes")


@app.command()
def score(
    extract: Annotated[Path, typer.Argument(help="Extract folder to score.")],
    out: Annotated[Path, typer.Option("--out", help="Runs folder; the run is published here.")],
    months: Annotated[
        str | None, typer.Option(help="List months, e.g. 2024-01:2024-12 (default: all complete).")
    ] = None,
    window_months: Annotated[int | None, typer.Option(help="Window length in months.")] = None,
    min_harm: Annotated[str | None, typer.Option(help="Harm threshold in days.")] = None,
    min_crimes: Annotated[int | None, typer.Option(help="Victimisation-count threshold.")] = None,
    weights: Annotated[str | None, typer.Option(help="Weight set: chi2020 or ons_css.")] = None,
    historic_months: Annotated[
        int | None,
        typer.Option(help="Flag crimes recorded more than N months after they occurred."),
    ] = None,
    historic_counted: Annotated[
        bool | None,
        typer.Option(
            "--historic-counted/--historic-excluded", help="Count flagged historic crimes?"
        ),
    ] = None,
    class_rule: Annotated[
        str | None,
        typer.Option(help=CLASS_RULE_HELP),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Policy file (default: ./chi.toml if present).")
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Also score the months whose window starts before the extract (marked partial).",
        ),
    ] = False,
    list_size: Annotated[
        int | None, typer.Option(help="People per neighbourhood on the list to act on (0: all).")
    ] = None,
) -> None:
    """Validate and score an extract; publish a run of victim, offender and dyad lists.

    The policy comes from defaults, then chi.toml, then these flags (flags win). Without
    --months, only the months whose whole window lies inside the extract are scored (add
    --partial for the others, marked partial). The run is a draft until `chi publish RUN`
    (the first run of a runs folder is current at once). The last line of output is the
    run folder.
    """
    from chi.progress import terminal_progress
    from chi.reference import use_geography
    from chi.scoring.policy import load_policy
    from chi.scoring.runs import score_and_publish
    from chi.settings import local_settings

    with clear_errors():
        settings = local_settings(config)
        if settings.source is not None:  # the file of the policy names the geography too
            use_geography(settings.app.geography)
        policy = load_policy(
            config,
            window_months=window_months,
            min_harm=min_harm,
            min_crimes=min_crimes,
            weights=weights,
            historic_months=historic_months,
            historic_counted=historic_counted,
            class_rule=class_rule,
            list_size=list_size,
        )
        with terminal_progress("score") as progress:
            run = score_and_publish(extract, out, policy, months, progress, partial=partial)
    _print_run_summary(run)
    _print_draft_note(run)
    typer.echo(str(run))


def _print_draft_note(path: Path) -> None:
    from chi.scoring.runs import current_run_id

    if current_run_id(path.parent) == path.name:
        typer.echo("state: current (the first run of this folder; every user reads it)")
    else:
        typer.echo(f"state: draft (analysts only); make it current with: chi publish {path}")


def _print_run_summary(path: Path) -> None:
    from chi.scoring.runs import open_run

    m = open_run(path).manifest
    for table, c in m.counts.items():
        typer.echo(
            f"{table:<10} read {c['read']:>9,}  accepted {c['accepted']:>9,}  "
            f"rejected {c['rejected']:>7,}"
        )
    basis = ", ".join(f"{k} {v:,}" for k, v in m.weight_basis.items())
    typer.echo(f"weight basis: {basis}")
    cr = m.class_rule
    if cr and cr["months"]:
        last = cr["months"][-1]
        typer.echo(
            f"class-level rule {cr['rule']}: {last['class_harm_days']} of {last['harm_days']} "
            f"days in {last['month']}'s window weighted at class level "
            f"({last['class_harm_other_days']} under {cr['other_rule']}); "
            f"{last['listed_only_this_rule']} listed only under {cr['rule']}, "
            f"{last['listed_only_other_rule']} more under {cr['other_rule']}"
        )
    months = m.months
    typer.echo(f"months: {months[0]} to {months[-1]} ({len(months)})")
    partial = m.partial_months
    if partial:
        typer.echo(
            f"partial window: {partial[0]} to {partial[-1]} ({len(partial)}; their window "
            f"starts before the extract's first month, {m.first_month})"
        )
    for name in ("victim_list", "offender_list", "dyads"):
        typer.echo(f"{name:<14} {m.outputs[name]['rows']:>9,} rows")


@app.command()
def rerun(
    run: Annotated[Path, typer.Argument(help="Run folder whose manifest to reproduce.")],
    out: Annotated[Path | None, typer.Option(help="Runs folder (default: the run's own).")] = None,
    extract: Annotated[
        Path | None,
        typer.Option(help="The run's extract, if it moved; checked against the manifest."),
    ] = None,
) -> None:
    """Reproduce a run from its manifest alone: same extract, policy, weights, months and
    as-of date.

    Refuses, naming what changed, if the extract's files, its extract.json or the weight
    set no longer match the checksums in the manifest. The geography is the file the run
    recorded (CHI_GEOGRAPHY, when set, is used instead and must match it).
    """
    from chi import __version__
    from chi.progress import terminal_progress
    from chi.reference import GEOGRAPHY_ENV, recorded_geography, use_geography
    from chi.scoring.runs import open_run, rerun_inputs, score_and_publish

    with clear_errors():
        source = open_run(run)
        recorded = recorded_geography(source.manifest.geography)
        if recorded is not None and recorded.is_file() and not os.environ.get(GEOGRAPHY_ENV):
            use_geography(recorded)  # the run's own geography, not the configuration's of today
        folder, policy, months, as_of = rerun_inputs(source, extract)
        made_by = source.manifest.chi_version
        if made_by != __version__:
            typer.echo(
                f"chi: note: run {source.run_id} was made by chi {made_by}, this is chi "
                f"{__version__}; the lists may differ where the scoring changed",
                err=True,
            )
        with terminal_progress("rerun") as progress:
            path = score_and_publish(
                folder, out or source.path.parent, policy, months, progress, as_of=as_of
            )
    _print_run_summary(path)
    _print_draft_note(path)
    typer.echo(str(path))


@app.command("runs")
def runs_(
    runs_dir: Annotated[Path, typer.Argument(help="Runs folder.")],
) -> None:
    """List the runs with their policy, weight set and months; which is current (what every
    user reads) and which are drafts (analysts only)."""
    from chi.scoring.runs import RunError, current_run_id, latest_run_id, list_runs

    try:
        found = list_runs(runs_dir)
    except RunError as exc:
        typer.echo(f"chi: {exc}", err=True)
        raise typer.Exit(2) from None
    if not found:
        typer.echo("no runs yet")
        return
    latest = latest_run_id(runs_dir)
    current = current_run_id(runs_dir) or latest
    rows = []
    for r in found:
        m, pol = r.manifest, r.manifest.policy
        marks = [
            k for k, on in (("current", r.run_id == current), ("latest", r.run_id == latest)) if on
        ]
        rows.append(
            {
                "run_id": r.run_id + (f" ({', '.join(marks)})" if marks else ""),
                "state": "current" if r.run_id == current else "draft",
                "created": m.created_at,
                "weights": m.weights.name,
                "window": pol["window_months"],
                "min_harm": pol["min_harm"],
                "min_crimes": pol["min_crimes"],
                "months": f"{m.months[0]}..{m.months[-1]}",
                "victims listed (last month)": _last_month_listed(r),
            }
        )
    echo_table(rows, list(rows[0]))


def _last_month_listed(run: Run) -> int:
    from chi.scoring.runs import victims_listed_last_month

    return victims_listed_last_month(run)


@app.command()
def publish(
    run: Annotated[Path, typer.Argument(help="The run folder to make current.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="App configuration (for the audit log; default $CHI_CONFIG)."
        ),
    ] = None,
) -> None:
    """Make RUN the current run: every user's lists, downloads, meetings and backtests then
    read it. A new run is a draft (analysts only) until then; an earlier run can be made
    current again the same way. Each change is written to the audit log."""
    from chi.scoring.runs import RunError, make_current, open_run

    who = actor()
    try:
        if not (run / "manifest.json").is_file() and (run.is_dir() or run.name == "latest"):
            raise RunError(f"{run}: give a run folder, not a runs folder")
        r = open_run(run)
        store = state_store(config)
        previous = make_current(r.path.parent, r.run_id, who)
    except (RunError, ValueError) as exc:
        raise fail(exc) from None
    if previous == r.run_id:
        typer.echo(f"{r.run_id} is already the current run")
        return
    store.record(who, "run_made_current", run_id=r.run_id, detail=f"previous {previous or 'none'}")
    typer.echo(f"{r.run_id} is now the current run (was {previous or 'none'})")


@app.command()
def diff(
    run_a: Annotated[Path, typer.Argument(help="The earlier (reference) run.")],
    run_b: Annotated[Path, typer.Argument(help="The run to compare with it.")],
    month: Annotated[
        str | None, typer.Option(help="One month, YYYY-MM (default: all shared).")
    ] = None,
) -> None:
    """Who entered and who left the victim and offender lists between two runs, and why."""
    from chi.scoring.diff import diff_runs
    from chi.scoring.runs import RunError, open_run

    try:
        a, b = open_run(run_a), open_run(run_b)
    except RunError as exc:
        typer.echo(f"chi: {exc}", err=True)
        raise typer.Exit(2) from None
    with clear_errors():
        frame = diff_runs(a, b, month)
    if frame.is_empty():
        typer.echo("no differences: the same people are listed in both runs")
        return
    summary = frame.group_by(["list", "month", "change"]).len().sort(["list", "month", "change"])
    for r in summary.iter_rows(named=True):
        typer.echo(f"{r['list']:<9} {r['month']}  {r['change']:<8} {r['len']:>6,}")
    typer.echo("")
    echo_table(frame.to_dicts(), frame.columns)


@app.command()
def export(
    run: RunArgument,
    month: Annotated[str, typer.Option(help="List month, YYYY-MM.")],
    neighbourhood: Annotated[
        str | None, typer.Option(help="One neighbourhood (ward code).")
    ] = None,
    area: Annotated[str | None, typer.Option(help=AREA_HELP)] = None,
    format: Annotated[str, typer.Option("--format", help="csv, xlsx or pdf.")] = "csv",
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: standard output).")
    ] = None,
    everyone: Annotated[
        bool,
        typer.Option("--everyone", help="Everyone listed, not only the list to act on."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Export a month's victim list for a neighbourhood, an area or the force.

    The same table as the app's page: readable headers, reasons in words, ordered by
    neighbourhood then rank; each neighbourhood's first list_size people unless --everyone.
    XLSX has a sheet of everyone, one per neighbourhood and a run-metadata sheet; CSV has the
    header on its first line and the run id and handling marking in two final columns; PDF
    is the printable briefing with an Actions column. Spreadsheet formulas are neutralised.
    Every export is written to the app's audit log (the state store of the configuration)
    as a download by ``cli:<operating-system user>``, like one from the app.
    """
    import getpass

    from chi.exports import listview
    from chi.exports.downloads import DOWNLOAD_FORMATS, victim_download
    from chi.exports.formats import export_format
    from chi.reading.lists import Scope, area_scope, neighbourhood_scope, victim_briefing
    from chi.reference import use_geography
    from chi.scoring.runs import RunError, open_run
    from chi.settings import load_config

    if neighbourhood and area:
        typer.echo("chi: give --neighbourhood or --area, not both", err=True)
        raise typer.Exit(2)
    try:
        r = open_run(run)
    except RunError as exc:
        typer.echo(f"chi: {exc}", err=True)
        raise typer.Exit(2) from None
    with clear_errors():
        cfg = load_config(config)
        if config is not None:  # --area is an area of the configuration's geography
            use_geography(cfg.geography)
        if month not in r.manifest.months:
            raise ValueError(f"month {month} is not in run {r.run_id}")
        scope = (
            neighbourhood_scope(neighbourhood)
            if neighbourhood
            else area_scope(area)
            if area
            else Scope.force()
        )
        rule = str(r.manifest.policy.get("specialist_rule", "none"))
        frame = listview.select(
            victim_briefing(r, month, scope), listview.ListView(everyone, specialist_rule=rule)
        )
        drop = ("specialist_team",) if not everyone or rule != "flag" else ()
        export_format(format, DOWNLOAD_FORMATS)
        data = victim_download(
            state_store(config),  # the configured store's audit log, as a download from the app
            actor(),
            r,
            month,
            scope,
            frame,
            format,
            cfg.marking,  # the marking the app puts on the same file
            drop=drop,
            via="cli",
            exported_by=getpass.getuser(),
        )
    if out is None:
        if format != "csv":
            typer.echo(f"chi: {format.upper()} needs --out FILE", err=True)
            raise typer.Exit(2)
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"{frame.height} rows written to {out}", err=True)


def _register_more_commands() -> None:
    """Commands of the later stages, each kept in its own module."""
    from chi.cli import forecast, importing, meetings, profile, serving

    for module in (importing, serving, profile, forecast, meetings):
        module.register(app)


_register_more_commands()


def main() -> None:  # pragma: no cover - console entry
    app()
