"""The ``chi`` command line: one Typer app (``main``), one module per group of commands, and the
helpers they share (``common``)."""

from chi.cli.main import app

__all__ = ["app"]
