"""Generated extracts with a known engagement effect, built once per test session.

24 months from 2023-01, seed 7, scale 1, no defects (as in ``tests/conftest.py`` but
clean), generated with ``engagement_effect`` E and scored with the default policy. Each
takes about twenty seconds to generate and score; the impact tests share them through
``engaged_extract``. Never modify one: copy it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish

BASE = GenerateOptions(seed=7, start="2023-01", months=24, defect_rate=0.0)


@dataclass(frozen=True)
class Engaged:
    effect: float
    extract: Path
    run: Run


_BUILT: dict[float, Engaged] = {}


def engaged_extract(tmp_path_factory: Any, effect: float) -> Engaged:
    """The generated extract with engagement effect ``effect`` and its run (one per session)."""
    if effect not in _BUILT:
        root = tmp_path_factory.mktemp(f"engaged-{effect}")
        extract = root / "extract"
        generate_extract(
            extract,
            GenerateOptions(**{**BASE.__dict__, "engagement_effect": effect}),
        )
        run = open_run(score_and_publish(extract, root / "runs", Policy()))
        _BUILT[effect] = Engaged(effect, extract, run)
    return _BUILT[effect]
