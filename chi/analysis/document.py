"""The DA problem profile as one document: every section's figures, the readings and caveats.

``chi.analysis.profile.build_profile`` fills it; the readings, the charts and the report read
it. Aggregates only: no names, dates of birth or person references ever reach a profile.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date
from typing import Any

import polars as pl

from chi.analysis.board import BoardTable
from chi.analysis.concentration import Concentration
from chi.analysis.escalation import Escalation
from chi.analysis.outcomes import OutcomeRate
from chi.analysis.overrecording import OverRecording
from chi.analysis.repeats import Repeats

SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA: this profile is built from a generated extract, not from any force's "
    "records. Its figures show what the profile measures; the shapes they describe (how "
    "concentrated harm is, how often victims repeat, who is also a suspect, DASH grades) are "
    "properties of the generator, not findings about domestic abuse."
)


@dataclass
class Profile:
    meta: dict[str, Any]
    concentration: dict[str, Concentration]
    repeats: dict[str, Repeats]
    serial: dict[str, Any]
    escalation: Escalation
    trend: pl.DataFrame
    places: dict[str, pl.DataFrame]
    relationship: pl.DataFrame
    victim_age_sex: pl.DataFrame
    perpetrator_age_sex: pl.DataFrame
    dash: pl.DataFrame
    overlap: dict[str, Any]
    outcomes: pl.DataFrame
    outcome_rate: OutcomeRate
    over_recording: OverRecording
    board: BoardTable
    caveats: list[str]
    readings: dict[str, str] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic"))

    @property
    def notice(self) -> str | None:
        """The notice every page and report of a generated extract carries at the top."""
        return SYNTHETIC_NOTICE if self.synthetic else None

    def as_dict(self, curves: bool = True) -> dict[str, Any]:
        """Every figure as JSON-ready data (frames as lists of records)."""
        out: dict[str, Any] = {
            "notice": self.notice,
            "meta": self.meta,
            "readings": self.readings,
            "concentration": {k: v.as_dict(curves) for k, v in self.concentration.items()},
            "repeats": {k: v.as_dict(curves) for k, v in self.repeats.items()},
            "serial_perpetrators": self.serial,
            "escalation": self.escalation.as_dict(),
            "trend": self.trend.to_dicts(),
            "places": {k: v.to_dicts() for k, v in self.places.items()},
            "relationship": self.relationship.to_dicts(),
            "victim_age_sex": self.victim_age_sex.to_dicts(),
            "perpetrator_age_sex": self.perpetrator_age_sex.to_dicts(),
            "dash": self.dash.to_dicts(),
            "victim_offender_overlap": self.overlap,
            "outcomes": self.outcomes.to_dicts(),
            "prosecution_possible": asdict(self.outcome_rate),
            "over_recording": self.over_recording.as_dict(),
            "board": self.board.as_dict(),
            "caveats": self.caveats,
        }
        cleaned: dict[str, Any] = _clean(out)
        return cleaned


def _clean(value: Any) -> Any:
    """JSON-ready: rounded floats, no NaN, ISO dates, tuples as lists."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return _clean(asdict(value))
    return value
