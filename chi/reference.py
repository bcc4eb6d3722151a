"""Reference data shipped in ``data/``: geography and harm weight sets.

chi reads only its own copies (built by ``scripts/build_reference.py`` from the public files),
so it runs on a machine with nothing else. A weight set is identified by name and version and
verified against the checksum in ``data/weights/registry.json`` before any run uses it: a run's
manifest can then say exactly which weights produced its lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chi.contract import file_sha256

DEFAULT_WEIGHTS = "chi2020"


def _package_or_repo(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / f"_{name}", here.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"chi's {name}/ folder is missing from the installation")


def data_dir() -> Path:
    return _package_or_repo("data")


def sql_dir() -> Path:
    return _package_or_repo("sql")


def lsoa_path() -> Path:
    """LSOA 2021 -> neighbourhood (2025 ward, best fit) -> district -> policing area."""
    return data_dir() / "geography" / "lsoa.csv"


def neighbourhoods_path() -> Path:
    return data_dir() / "geography" / "neighbourhoods.csv"


def calibration_path(name: str) -> Path:
    return data_dir() / "calibration" / name


OFFENCE_RULE_FILES = ("retired_subclasses", "class_typical")
"""The offence-code rule tables in ``data/offences/`` (see data/README.md)."""


def offence_rules_path(name: str) -> Path:
    """``data/offences/<name>.csv``: retired subclasses or the typical offence of each class."""
    if name not in OFFENCE_RULE_FILES:
        raise ValueError(f"unknown offence rule table {name!r}")
    return data_dir() / "offences" / f"{name}.csv"


def offence_rules_manifest() -> list[dict[str, str]]:
    """File name and sha256 of each offence-code rule table, for a run's manifest."""
    return [
        {
            "name": name,
            "file": f"offences/{name}.csv",
            "sha256": file_sha256(offence_rules_path(name)),
        }
        for name in OFFENCE_RULE_FILES
    ]


@dataclass(frozen=True)
class WeightSet:
    name: str
    version: str
    path: Path
    sha256: str
    unit: str
    title: str
    source: str
    rows: int

    def as_manifest(self) -> dict[str, str | int]:
        return {
            "name": self.name,
            "version": self.version,
            "file": self.path.name,
            "sha256": self.sha256,
            "unit": self.unit,
            "rows": self.rows,
        }


class WeightSetError(Exception):
    """A weight set that is unknown or whose file does not match its recorded checksum."""


@cache
def weight_sets() -> dict[str, WeightSet]:
    folder = data_dir() / "weights"
    entries = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
    return {
        e["name"]: WeightSet(
            name=e["name"],
            version=e["version"],
            path=folder / e["file"],
            sha256=e["sha256"],
            unit=e["unit"],
            title=e["title"],
            source=e["source"],
            rows=int(e["rows"]),
        )
        for e in entries
    }


def load_weight_set(name: str = DEFAULT_WEIGHTS) -> WeightSet:
    """The named weight set, after checking its file against the registry's sha256."""
    sets = weight_sets()
    if name not in sets:
        known = ", ".join(sorted(sets))
        raise WeightSetError(f"unknown weight set {name!r}; known: {known}")
    ws = sets[name]
    actual = file_sha256(ws.path)
    if actual != ws.sha256:
        raise WeightSetError(
            f"{ws.path}: checksum {actual[:12]}... does not match the registry "
            f"({ws.sha256[:12]}...); the weight file was changed"
        )
    return ws
