"""Command-line commands for the analyses: ``chi profile`` (the DA problem profile and the
board's safeguarding table as HTML and JSON).

Registered on the ``chi`` command by ``chi.cli``.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``chi`` command line."""
