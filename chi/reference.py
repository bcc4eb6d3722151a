"""Reference data shipped in ``data/``: geography and harm weight sets.

chi reads only its own copies (built by ``scripts/build_reference.py`` from the public files),
so it runs on a machine with nothing else. A weight set is identified by name and version and
verified against the checksum in ``data/weights/registry.json`` before any run uses it: a run's
manifest can then say exactly which weights produced its lists.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
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
    """The shipped geography of Cambridgeshire and Peterborough: LSOA 2021 -> neighbourhood
    (2025 ward, best fit) -> district -> policing area. The synthetic generator's places;
    scoring and the app read :func:`geography_path`, which a force may point elsewhere."""
    return data_dir() / "geography" / "lsoa.csv"


GEOGRAPHY_ENV = "CHI_GEOGRAPHY"
"""The environment variable naming a force's own geography file (the shape of
``data/geography/lsoa.csv``): an override of ``[geography] path`` in ``chi.toml``; with
neither, chi uses the shipped Cambridgeshire file."""

GEOGRAPHY_COLUMNS = (
    "lsoa_code",
    "lsoa_name",
    "neighbourhood_code",
    "neighbourhood_name",
    "district_code",
    "district_name",
    "area",
)
"""The columns a geography file must have (the shipped file also has LSOA centroids)."""


class GeographyError(ValueError):
    """A geography file chi cannot use: the message names the file, column and row."""


_IN_USE: dict[str, Path | None] = {"configured": None}


def use_geography(path: Path | None) -> None:
    """Make ``path`` the geography of this process: ``[geography] path`` of the ``chi.toml``
    a command or the app read (None: the file sets none). ``CHI_GEOGRAPHY`` still wins."""
    _IN_USE["configured"] = None if path is None else Path(path).expanduser().resolve()


def configured_geography() -> Path | None:
    """The geography file named for this process: ``CHI_GEOGRAPHY``, else the ``chi.toml``
    key (:func:`use_geography`); None when neither names one."""
    named = os.environ.get(GEOGRAPHY_ENV, "").strip()
    return Path(named).expanduser().resolve() if named else _IN_USE["configured"]


def geography_path() -> Path:
    """The force's geography: :func:`configured_geography`, else the shipped file."""
    return configured_geography() or lsoa_path()


@dataclass(frozen=True)
class Neighbourhood:
    code: str
    name: str
    district_code: str
    district_name: str
    area: str


@dataclass(frozen=True)
class Geography:
    """The force's places, read from its geography file: every LSOA's neighbourhood, every
    neighbourhood's district and policing area, and the areas in the file's order."""

    path: Path
    sha256: str
    lsoa_neighbourhood: dict[str, str]
    neighbourhoods: tuple[Neighbourhood, ...]
    areas: tuple[str, ...]

    def as_manifest(self) -> dict[str, object]:
        """What a run records of the geography it was scored with (a rerun checks it)."""
        return {
            "file": self.path.name,
            "path": str(self.path),
            "shipped": self.path == lsoa_path().resolve(),
            "sha256": self.sha256,
            "areas": list(self.areas),
        }

    def area_of(self, neighbourhood_code: str) -> str | None:
        return next((n.area for n in self.neighbourhoods if n.code == neighbourhood_code), None)

    def in_area(self, area: str) -> tuple[str, ...]:
        """The neighbourhood codes of ``area`` (empty for a name that is no area)."""
        return tuple(n.code for n in self.neighbourhoods if n.area == area)

    def find_area(self, text: str) -> str | None:
        """The area ``text`` names, in any case (``north`` is North), or None."""
        wanted = text.strip().casefold()
        return next((a for a in self.areas if a.casefold() == wanted), None)


def geography() -> Geography:
    """The force's geography (:func:`geography_path`), read once per version of the file."""
    path = geography_path()
    try:
        stat = path.stat()
    except OSError:
        raise GeographyError(
            f"{path}: the geography file is missing (name the force's geography file in "
            f"chi.toml, [geography] path, or {GEOGRAPHY_ENV}; neither, for the shipped one)"
        ) from None
    return _read_geography(path, stat.st_mtime_ns, stat.st_size)


@cache
def _read_geography(path: Path, _mtime: int, _size: int) -> Geography:
    try:
        return _parse_geography(path)
    except UnicodeDecodeError as e:
        raise GeographyError(
            f"{path}: byte {e.start + 1} is not UTF-8 text (save the geography file as UTF-8 CSV)"
        ) from None


def _parse_geography(path: Path) -> Geography:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in GEOGRAPHY_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise GeographyError(f"{path}: no column {missing[0]!r} (needs {GEOGRAPHY_COLUMNS})")
        lsoas: dict[str, str] = {}
        places: dict[str, Neighbourhood] = {}
        for row_number, row in enumerate(reader, start=2):
            if None in row:  # csv.DictReader keeps the fields beyond the header under None
                raise GeographyError(
                    f"{path}, row {row_number}: more fields than the header's "
                    f"{len(reader.fieldnames or [])}"
                )
            values = {c: (row.get(c) or "").strip() for c in GEOGRAPHY_COLUMNS}
            empty = next((c for c in GEOGRAPHY_COLUMNS if not values[c]), None)
            if empty:
                raise GeographyError(f"{path}, row {row_number}: column {empty!r} is empty")
            if values["lsoa_code"] in lsoas:
                raise GeographyError(
                    f"{path}, row {row_number}: column 'lsoa_code' repeats an LSOA of an "
                    "earlier row"
                )
            place = Neighbourhood(
                code=values["neighbourhood_code"],
                name=values["neighbourhood_name"],
                district_code=values["district_code"],
                district_name=values["district_name"],
                area=values["area"],
            )
            # A neighbourhood is named by its first row (a later row may annotate the name).
            earlier = places.setdefault(place.code, place)
            column = next(
                (c for c in ("district_code", "area") if getattr(earlier, c) != getattr(place, c)),
                None,
            )
            if column:
                raise GeographyError(
                    f"{path}, row {row_number}: column {column!r}: neighbourhood {place.code} "
                    "is in another one than in an earlier row (a neighbourhood lies in one "
                    "district and one area)"
                )
            lsoas[values["lsoa_code"]] = place.code
    if not places:
        raise GeographyError(f"{path}: the geography file has no rows")
    areas = tuple(dict.fromkeys(n.area for n in places.values()))
    digest = file_sha256(path)
    return Geography(path, digest, lsoas, tuple(places.values()), areas)


def recorded_geography(record: Mapping[str, object] | None) -> Path | None:
    """The geography file a run's manifest names (``Geography.as_manifest``): the shipped
    file, or the file at its recorded path; None for a run from before paths were recorded."""
    if not record:
        return None
    if record.get("shipped") is True:
        return lsoa_path().resolve()
    path = record.get("path")
    return Path(path) if isinstance(path, str) and path else None


def policing_areas() -> tuple[str, ...]:
    """The force's policing areas, in the order of its geography file."""
    return geography().areas


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
