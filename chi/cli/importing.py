"""``chi import``: a force's own export (CSV, XLSX, Parquet) into a contract-v1 extract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("import")(import_)


def import_(
    source: Annotated[
        Path | None, typer.Argument(help="Folder of exported files (CSV, XLSX or Parquet).")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping file (TOML; see --template).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Extract folder to write (must not exist).")
    ] = None,
    template: Annotated[
        bool, typer.Option("--template", help="Print a commented mapping for the contract.")
    ] = False,
) -> None:
    """Write a contract-v1 extract from a force's export, by a mapping file.

    Prints the import report (rows read and written per table, values no mapping covers,
    values that could not be read) and writes it into the extract as import_report.txt and
    import_report.json. Then run `chi validate EXTRACT`.
    """
    from chi.extract.importer import import_extract, load_mapping
    from chi.extract.importer import template as mapping_template

    if template:
        typer.echo(mapping_template(), nl=False)
        return
    if source is None or mapping is None or out is None:
        typer.echo("chi: give SOURCE, --mapping FILE and --out EXTRACT (or --template)", err=True)
        raise typer.Exit(2)
    try:
        report = import_extract(source, load_mapping(mapping), out)
    except ValueError as exc:
        typer.echo(f"chi: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(report.text(), nl=False)
