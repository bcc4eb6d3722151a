"""Synthetic contract-v1 extracts for Cambridgeshire and Peterborough, calibrated and dirty.

No victim-level police data is public, so chi's demo, tests and benchmarks run on extracts
written here. ``generate_extract`` is a pure function of its options: the same seed and
arguments give byte-identical files (one ``numpy`` PCG64 stream, stable sorts, no clock, no
hash order). The parts, in the order they run:

- ``crimes``: volume, seasonality, category, place and offence from the 2024 police.uk
  files and the 2017/18 offence mix (``sources``, ``offences``);
- ``domestic`` and ``victims``: who suffers them, through self-exciting chains (``chains``);
- ``outcomes``: outcome types and named suspects; ``people`` and ``names``: who they are;
- ``defects``: realistic faults at a configurable rate, each listed in ``truth/``;
- ``write``: the Parquet files and ``extract.json``.

``chi calibrate`` measures an extract against every band the generator is tuned to.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

from chi.contract import GENERATING_MARKER, ExtractMeta
from chi.generate.build import build
from chi.generate.defects import inject_defects
from chi.generate.engagement import SELECTIONS, apply_engagement
from chi.generate.write import contract_table, prepare_folder, write_parquet, write_partitioned
from chi.progress import Progress, silent

FORCE = "Cambridgeshire"
MIN_SCALE = 0.01
"""The smallest scale: about 60 crimes a month, enough for every table to have rows."""


@dataclass(frozen=True)
class GenerateOptions:
    seed: int = 1
    start: str = "2022-01"
    months: int = 36
    scale: float = 1.0
    defect_rate: float = 0.01
    engagement_effect: float | None = None
    """Engage a share of new victim-list entries and remove this fraction of their later
    victimisations (``chi.generate.engagement``); None: no engagement."""
    engagement_share: float = 0.3
    engagement_selection: str = "random"
    """Who the meetings engage: random, top_harm, top_crimes or escalating
    (``chi.generate.engagement``)."""

    def start_date(self) -> date:
        if not re.fullmatch(r"\d{4}-\d{2}", self.start):
            raise ValueError(f"start must be YYYY-MM, not {self.start!r}")
        year, month = int(self.start[:4]), int(self.start[5:])
        if not 1 <= month <= 12 or year < 1990:
            raise ValueError(f"start must be a month from 1990-01 on, not {self.start!r}")
        return date(year, month, 1)

    def check(self) -> None:
        self.start_date()
        if not 1 <= self.months <= 240:
            raise ValueError(f"months must be 1..240, not {self.months}")
        if not MIN_SCALE <= self.scale <= 200:  # below MIN_SCALE a month has a handful of crimes
            raise ValueError(f"scale must be {MIN_SCALE} to 200, not {self.scale}")
        if not 0 <= self.defect_rate <= 0.2:
            raise ValueError(f"defect rate must be 0..0.2, not {self.defect_rate}")
        if self.seed < 0:
            raise ValueError(f"seed must be zero or more, not {self.seed}")
        if self.engagement_effect is not None and not 0 <= self.engagement_effect <= 1:
            raise ValueError(f"engagement effect must be 0..1, not {self.engagement_effect}")
        if self.engagement_selection not in SELECTIONS:
            raise ValueError(
                f"engagement selection must be one of {', '.join(SELECTIONS)}, "
                f"not {self.engagement_selection!r}"
            )
        if not 0 < self.engagement_share <= 1:
            raise ValueError(
                f"engagement share must be above 0 and at most 1, not {self.engagement_share}"
            )


@dataclass(frozen=True)
class GenerateSummary:
    rows: dict[str, int]
    """Rows written per contract table."""
    defects: int
    """Rows in truth/defects.parquet."""
    as_of: date


def generate_extract(
    out: Path, options: GenerateOptions, progress: Progress = silent
) -> GenerateSummary:
    """Write a synthetic extract into ``out`` (created; a previous extract there is replaced)."""
    options.check()
    out = Path(out)
    rng = np.random.Generator(np.random.PCG64(options.seed))
    built = build(rng, options.start_date(), options.months, options.scale, progress)

    progress("defects", 0.75)
    dirty = inject_defects(rng, built, options.defect_rate)

    progress("writing", 0.85)
    prepare_folder(out)
    # Until the last file is written the folder says it is incomplete, so an extract that a
    # crash or a full disk cut short is refused by name rather than scored in part.
    (out / GENERATING_MARKER).write_text("chi generate has not finished\n", encoding="utf-8")
    write_partitioned(out, "crimes", dirty.crimes, dirty.text_column)
    write_partitioned(out, "victims", dirty.victims)
    write_parquet(contract_table(dirty.persons, "persons"), out / "persons.parquet")
    write_parquet(contract_table(dirty.suspects, "suspects"), out / "suspects.parquet")
    write_parquet(dirty.truth, out / "truth" / "defects.parquet")
    write_parquet(dirty.duplicates, out / "truth" / "duplicates.parquet")
    (out / "truth" / "generator.json").write_text(
        json.dumps(asdict(options), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    ExtractMeta(force=FORCE, as_of=built.as_of).dump(out)
    (out / GENERATING_MARKER).unlink()  # complete (the engagement step scores it as it is)
    removed: dict[str, int] = {}
    if options.engagement_effect is not None:
        removed = apply_engagement(
            out,
            options.seed,
            options.engagement_effect,
            options.engagement_share,
            progress,
            options.engagement_selection,
        )
    progress("done", 1.0)
    return GenerateSummary(
        rows={
            "crimes": dirty.crimes.height - removed.get("crimes", 0),
            "persons": dirty.persons.height,
            "victims": dirty.victims.height - removed.get("victims", 0),
            "suspects": dirty.suspects.height - removed.get("suspects", 0),
        },
        defects=dirty.truth.num_rows,
        as_of=built.as_of,
    )
