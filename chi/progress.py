"""Progress reporting that the pipeline can call without knowing who is watching.

Long work (generating, validating, scoring) takes a ``Progress`` callback: the command line
passes one that draws a rich progress bar on a terminal and stays quiet otherwise, the app
passes one that moves ``st.progress``, tests pass nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, float], None]
"""Called with a short description of the current step and the fraction done (0..1)."""


def silent(step: str, fraction: float) -> None:
    """A progress callback that reports nothing."""


@contextmanager
def terminal_progress(title: str) -> Iterator[Progress]:
    """A rich progress bar on a terminal; nothing at all when output is piped or in CI."""
    if not sys.stderr.isatty():
        yield silent
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}"),
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=1.0, step="")

        def report(step: str, fraction: float) -> None:
            bar.update(task, completed=max(0.0, min(1.0, fraction)), step=step)

        yield report
