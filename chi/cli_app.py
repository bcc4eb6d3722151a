"""Command-line commands for running the app: ``chi users`` and ``chi demo``.

Kept apart from ``chi.cli`` so the scoring commands stay small; registered on the same
``chi`` command. Nothing here imports streamlit: the app is served as a subprocess.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the app's commands to the ``chi`` command line."""
