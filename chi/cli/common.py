"""What the command groups share: chi's known errors as one line (``clear_errors``,
``fail``), the state store a command writes to (``state_store``), a plain table
(``echo_table``, drawn by rich), who is acting (``actor``) and the geography of the
configuration (``use_config_geography``)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

AREA_HELP = "A policing area of the force's geography (North or South for Cambridgeshire)."
"""The help of every ``--area`` option: the areas come from the geography file, not from chi."""
RunArgument = Annotated[
    Path, typer.Argument(help="Run folder (or a runs folder: its current run).")
]
"""The RUN argument of the commands that read a scored run."""
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="App configuration file (default: $CHI_CONFIG, else defaults)."),
]
"""The ``--config`` option of the commands that use the app's configuration."""

if TYPE_CHECKING:
    from chi.state.store import Store


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


def fail(message: object) -> typer.Exit:
    """Say ``message`` as one line on stderr (control characters escaped) and give the
    ``typer.Exit(2)`` to raise."""
    from chi.errors import terminal_text

    typer.echo(f"chi: {terminal_text(str(message))}", err=True)
    return typer.Exit(2)


def use_config_geography(config: Path | None = None) -> None:
    """Make ``[geography] path`` of the configuration this command reads (``config``, else
    ``$CHI_CONFIG``, else ``./chi.toml``) the geography it uses; ``CHI_GEOGRAPHY`` still
    overrides it. Run before every command (a configuration it cannot read is left to the
    command that needs it to report), and again by a command given ``--config``."""
    from chi.reference import use_geography
    from chi.settings import CONFIG_ENV, load_settings, local_settings

    named = config is not None or bool(os.environ.get(CONFIG_ENV, "").strip())
    use_geography((load_settings(config) if named else local_settings()).app.geography)


def state_store(config: Path | None, store: Path | None = None, must_exist: bool = False) -> Store:
    """The state store named by ``store``, else by the configuration (``--config``, else
    ``$CHI_CONFIG``, else the default); reading commands (``must_exist``) refuse a missing
    file rather than create one. A bad configuration is one line and exit code 2."""
    from chi.reference import use_geography
    from chi.settings import load_config
    from chi.state.passwords import PasswordPolicy
    from chi.state.store import Store, StoreError

    try:
        policy: PasswordPolicy | None = None
        if store is None:
            cfg = load_config(config)
            if config is not None:
                use_geography(cfg.geography)
            # Every password set from here passes the configuration's one policy.
            store, policy = cfg.state_path, PasswordPolicy.from_config(cfg)
        path = store
        if must_exist and not Path(path).is_file():
            raise ValueError(f"{path}: no state store there")
        return Store(path, password_policy=policy)
    except (ValueError, StoreError) as exc:
        raise fail(exc) from None


def echo_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> None:
    """A plain table (rich, no borders, two spaces between columns, never wrapped); data text
    is shown as text with control characters escaped, so a value from an extract can neither
    move the cursor or colour the terminal nor be read as rich markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from chi.errors import terminal_text

    cells = [[terminal_text(str(r.get(c, ""))) for c in columns] for r in rows]
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
    for c in columns:
        table.add_column(Text(terminal_text(c)), no_wrap=True, overflow="ignore")
    for row in cells:
        table.add_row(*(Text(v) for v in row))
    width = sum(max([len(c), *(len(r[i]) for r in cells)]) + 2 for i, c in enumerate(columns))
    console = Console(
        width=max(width, 20), color_system=None, highlight=False, markup=False, emoji=False
    )
    with console.capture() as captured:
        console.print(table)
    for line in captured.get().splitlines():
        typer.echo(line.rstrip())


def add_group(
    app: typer.Typer, name: str, help: str, commands: Mapping[str, Callable[..., object]]
) -> None:
    """Add a group of subcommands (``chi NAME COMMAND``) to the ``chi`` command line; the
    group alone prints its help."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True)
    for command, function in commands.items():
        group.command(command)(function)
    app.add_typer(group, name=name)
