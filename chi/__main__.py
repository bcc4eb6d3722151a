"""``python -m chi``: the same as the ``chi`` command."""

from chi.cli import app

app()
