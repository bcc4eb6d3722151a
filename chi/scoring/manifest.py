"""A run's manifest (``manifest.json``, data contract §4) as a typed value.

Every reader of a run reads its manifest through :class:`Manifest` (``run.manifest.months``,
``run.manifest.extract.as_of``), not by string keys into a dictionary, so a misspelt field is
a type error and the fields a run carries are listed once, here. The file itself does not
change: :meth:`Manifest.to_json` writes the fields in the order chi has always written them,
with the same indentation, so a new run's ``manifest.json`` is byte-for-byte what it was, and
:meth:`Manifest.from_json` reads runs written by earlier versions (fields added since then
take their "not recorded" value) and keeps any field a later version added (``extra``), so
the contract's rule holds: additions only, never drift.

The policy stays the mapping the run recorded (``chi.scoring.policy.Policy.from_manifest``
turns it into a policy): a run from before a policy setting existed must not be shown as if
it had used today's default.

:class:`Run` (a published run folder: its path and its manifest) and :class:`RunError` live
here too, beside the record they carry, so that modules publishing a run's files
(``chi.scoring.staged``) and the module that publishes it (``chi.scoring.runs``, which
re-exports both) need not import each other.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

_TOP = (
    "run_id",
    "created_at",
    "chi_version",
    "contract_version",
    "digest",
    "extract",
    "policy",
    "weights",
    "geography",
    "months",
    "first_month",
    "partial_months",
    "counts",
    "weight_basis",
    "weight_rules",
    "class_rule",
    "unmatched_codes",
    "outputs",
    "staged",
)
_REQUIRED: dict[str, type] = {
    "run_id": str,
    "created_at": str,
    "extract": dict,
    "policy": dict,
    "weights": dict,
    "months": list,
    "counts": dict,
    "outputs": dict,
    "weight_basis": dict,
}


@dataclass(frozen=True)
class ExtractRecord:
    """The extract a run scored: where it was, its as-of date, and every file's checksum."""

    path: str
    as_of: str
    """The as-of date, ``YYYY-MM-DD``."""
    force: str | None = None
    as_of_source: str | None = None
    """How the as-of date was found (``given``, ``extract.json``, ``latest recorded``...)."""
    files: list[dict[str, Any]] = field(default_factory=list)
    """One entry per file: ``table``, ``file``, ``rows``, ``sha256``."""
    metadata: dict[str, Any] | None = None
    """``extract.json`` as the run depends on it (``file``, ``sha256``); None in runs from
    before it was recorded."""

    @property
    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "force": self.force,
            "as_of": self.as_of,
            "as_of_source": self.as_of_source,
            "files": self.files,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractRecord:
        return cls(
            path=str(data["path"]),
            as_of=str(data["as_of"]),
            force=data.get("force"),
            as_of_source=data.get("as_of_source"),
            files=list(data.get("files") or []),
            metadata=data.get("metadata"),
        )


@dataclass(frozen=True)
class WeightsRecord:
    """The weight set a run used, with the checksum of its file."""

    name: str
    version: str
    file: str
    sha256: str
    unit: str = ""
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeightsRecord:
        return cls(
            name=str(data["name"]),
            version=str(data.get("version", "")),
            file=str(data.get("file", "")),
            sha256=str(data["sha256"]),
            unit=str(data.get("unit", "")),
            rows=int(data.get("rows", 0)),
        )


@dataclass(frozen=True)
class Manifest:
    run_id: str
    created_at: str
    extract: ExtractRecord
    policy: dict[str, Any]
    """The policy as the run recorded it (``Policy.as_manifest``)."""
    weights: WeightsRecord
    months: list[str]
    """The list months scored, oldest first (at least one)."""
    counts: dict[str, dict[str, int]]
    """Per extract table: rows ``read``, ``accepted``, ``rejected``."""
    weight_basis: dict[str, int]
    outputs: dict[str, dict[str, Any]]
    """Per output file (``victim_list``...): ``rows`` and ``sha256``."""
    chi_version: str | None = None
    contract_version: str | None = None
    digest: str | None = None
    """The inputs' digest: runs of the same inputs share it."""
    first_month: str | None = None
    """The extract's first month (a list month before first_month + window is partial)."""
    partial_months: list[str] = field(default_factory=list)
    weight_rules: list[dict[str, Any]] = field(default_factory=list)
    class_rule: dict[str, Any] | None = None
    unmatched_codes: list[dict[str, Any]] = field(default_factory=list)
    staged: dict[str, Any] | None = None
    """The run's staged tables (``chi.scoring.staged``): their names and whether the extract
    was synthetic (absent in runs from before they were published)."""
    geography: dict[str, Any] | None = None
    """The geography file the run used: ``file``, ``sha256``, ``areas`` (absent in runs from
    before a force could supply its own)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields this version of chi does not know (written by a later one), kept as read."""

    @property
    def window_months(self) -> int:
        return int(self.policy["window_months"])

    @property
    def last_month(self) -> str:
        return self.months[-1]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _TOP:
            value = getattr(self, name)
            if name in ("geography", "staged") and value is None:
                continue  # a run from before the geography was recorded is written as it was
            out[name] = value.to_dict() if hasattr(value, "to_dict") else value
        return {**out, **self.extra}

    def to_json(self) -> str:
        """The text of ``manifest.json``."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        """A manifest from its JSON object; ``ValueError`` when a field every reader relies
        on is missing or of the wrong kind, or there is no month."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), t) for k, t in _REQUIRED.items()
        ):
            raise ValueError("not a chi run manifest (fields missing or of the wrong kind)")
        months = data["months"]
        if not months or not all(isinstance(m, str) for m in months):
            raise ValueError("not a chi run manifest (fields missing or of the wrong kind)")
        try:
            return cls(
                run_id=data["run_id"],
                created_at=data["created_at"],
                chi_version=data.get("chi_version"),
                contract_version=data.get("contract_version"),
                digest=data.get("digest"),
                extract=ExtractRecord.from_dict(data["extract"]),
                policy=data["policy"],
                weights=WeightsRecord.from_dict(data["weights"]),
                months=list(months),
                first_month=data.get("first_month"),
                partial_months=list(data.get("partial_months") or []),
                counts=data["counts"],
                weight_basis=data["weight_basis"],
                weight_rules=list(data.get("weight_rules") or []),
                class_rule=data.get("class_rule"),
                unmatched_codes=list(data.get("unmatched_codes") or []),
                outputs=data["outputs"],
                geography=data.get("geography"),
                staged=data.get("staged"),
                extra={k: v for k, v in data.items() if k not in _TOP},
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                "not a chi run manifest (fields missing or of the wrong kind)"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """A manifest from the text of ``manifest.json``; ``ValueError`` if it is not one."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError("manifest is not valid JSON") from None
        return cls.from_dict(data)


class RunError(Exception):
    """A run folder that is missing, incomplete or not a chi run."""


@dataclass(frozen=True)
class Run:
    path: Path
    manifest: Manifest

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def table(self, name: str) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path / f"{name}.parquet")

    def file(self, name: str) -> Path:
        return self.path / f"{name}.parquet"
