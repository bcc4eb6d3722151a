"""Command-line commands for forecasting and backtesting: ``chi backtest``.

Registered on the ``chi`` command by ``chi.cli``.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``chi`` command line."""
