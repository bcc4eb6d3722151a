"""What the command groups share: chi's known errors as one line, a plain table, who is acting."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer

AREA_HELP = "A policing area of the force's geography (North or South for Cambridgeshire)."
"""The help of every ``--area`` option: the areas come from the geography file, not from chi."""


def actor() -> str:
    """Who ran a command, for the audit log: ``cli:<login name>``, or ``cli`` when the system
    cannot say."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def clear_errors() -> Iterator[None]:
    """Known failures become one line on stderr and exit code 2."""
    from chi.contract import ContractError
    from chi.reference import WeightSetError
    from chi.scoring.runs import RunError

    known: tuple[type[Exception], ...] = (ContractError, WeightSetError, RunError, ValueError)
    try:
        yield
    except known as exc:
        from chi.errors import from_a_library, terminal_text

        if from_a_library(exc):  # e.g. pyarrow's ArrowInvalid is a ValueError whose text
            raise  # may quote a data value: the error boundary words it instead
        typer.echo(f"chi: {terminal_text(str(exc))}", err=True)
        raise typer.Exit(2) from None


def echo_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """A plain table; data text is shown with control characters escaped, so a value from
    an extract cannot move the cursor or colour the terminal."""
    from chi.errors import terminal_text

    cells = [{c: terminal_text(str(r.get(c, ""))) for c in columns} for r in rows]
    widths = {c: max([len(c), *(len(r[c]) for r in cells)]) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in cells:
        typer.echo("  ".join(r[c].ljust(widths[c]) for c in columns))
