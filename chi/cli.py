"""The ``chi`` command line: one command per pipeline step.

Commands import their modules lazily so that ``chi --help`` is instant. Every command turns
chi's own errors (a bad extract, an unknown weight set, a bad policy) into one clear line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="chi",
    help="Crime Harm Index victim-risk prioritisation: extracts -> validate -> score -> lists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Known failures become one line on stderr and exit code 2."""
    from chi.contract import ContractError
    from chi.reference import WeightSetError

    known: tuple[type[Exception], ...] = (ContractError, WeightSetError, ValueError)
    try:
        yield
    except known as exc:
        typer.echo(f"chi: {exc}", err=True)
        raise typer.Exit(2) from None


def _echo_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


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
) -> None:
    """Write a synthetic contract-v1 extract for Cambridgeshire and Peterborough.

    The extract is calibrated to the real 2024 police.uk figures and published research
    (see `chi calibrate`). Injected defects are listed in OUT/truth/defects.parquet.
    """
    from chi.generate import GenerateOptions, generate_extract
    from chi.progress import terminal_progress

    with _clear_errors(), terminal_progress("generate") as progress:
        summary = generate_extract(
            out,
            GenerateOptions(
                seed=seed, start=start, months=months, scale=scale, defect_rate=defects
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
    from chi.calibrate import measure_bands

    with _clear_errors():
        results = measure_bands(extract)
    _echo_table(
        [r.as_row() for r in results],
        ["band", "target", "measured", "met"],
    )
    missed = [r for r in results if not r.met]
    typer.echo(f"{len(results) - len(missed)} of {len(results)} bands met")
    if missed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry
    app()
