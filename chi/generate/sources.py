"""The generator's inputs from ``data/``: calibration tables, weights, geography and names.

Everything the generator is calibrated to is read here once, from chi's own ``data/`` folder,
into plain arrays; nothing is read from anywhere else and nothing is read at random. The
police.uk category of a Home Office code and of a CHI offence key is decided here too
(``category_of_key``), from the same two files ``chi.generate.calibrate`` uses to measure the mix.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chi.offences import normal_ho_class
from chi.reference import calibration_path, data_dir, load_weight_set, lsoa_path

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NO_LOCATION = "NONE"
OUTSIDE_FORCE = "OUTSIDE"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class WeightRow:
    key: str
    ho_class: str | None
    group: str
    classification: str
    title: str
    weight: float

    @property
    def attempt(self) -> bool:
        return self.key.endswith("A") or self.title.lower().startswith("attempted")


@dataclass(frozen=True)
class HomeOfficeCode:
    code: str
    category: str
    crimes: int
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Sources:
    categories: tuple[str, ...]
    month_category: FloatArray
    """Crimes of 2024 by calendar month (rows 0..11) and category."""
    lsoas: tuple[str, ...]
    """The force's LSOAs, in file order; an LSOA's index is its position here."""
    lsoa_district: IntArray
    districts: tuple[str, ...]
    lsoa_neighbourhood: tuple[str, ...]
    place_codes: tuple[str, ...]
    """LSOA codes plus ``NONE`` and ``OUTSIDE``, the columns of ``place_category``."""
    place_category: FloatArray
    """Crimes of 2024 by place (rows, as ``place_codes``) and category."""
    ho_codes: tuple[HomeOfficeCode, ...]
    weights: dict[str, WeightRow]
    outcomes: dict[str, dict[str, int]]
    """police.uk last-outcome category -> crimes, per police.uk category."""
    classification_category: dict[str, str]
    """CHI classification code -> police.uk category (every code of the 2017/18 mix)."""

    def category_of_key(self, key: str) -> str | None:
        row = self.weights.get(key)
        return self.classification_category.get(row.classification) if row else None

    def category_index(self, name: str) -> int:
        return self.categories.index(name)


@cache
def load_sources() -> Sources:
    month_rows = _rows(calibration_path("month_category_2024.csv"))
    categories = tuple(sorted({r["category"] for r in month_rows}))
    month_category = np.zeros((12, len(categories)))
    for r in month_rows:
        month_category[int(r["month"][5:7]) - 1, categories.index(r["category"])] += int(
            r["crimes"]
        )

    geo = _rows(lsoa_path())
    lsoas = tuple(r["lsoa_code"] for r in geo)
    districts = tuple(sorted({r["district_name"] for r in geo}))
    lsoa_district = np.array([districts.index(r["district_name"]) for r in geo], dtype=np.int64)

    place_codes = (*lsoas, NO_LOCATION, OUTSIDE_FORCE)
    place_category = np.zeros((len(place_codes), len(categories)))
    index = {code: i for i, code in enumerate(place_codes)}
    for r in _rows(calibration_path("lsoa_category_2024.csv")):
        place_category[index[r["lsoa_code"]], categories.index(r["category"])] += int(r["crimes"])

    ws = load_weight_set("chi2020")
    weights: dict[str, WeightRow] = {}
    for r in _rows(ws.path):
        weights[r["offence_key"]] = WeightRow(
            key=r["offence_key"],
            ho_class=normal_ho_class(r["ho_class"]),
            group=r["offence_group"],
            classification=r["classification_code"],
            title=r["title"],
            weight=float(r["weight"]),
        )
    by_classification: dict[str, list[str]] = {}
    for w in weights.values():
        if w.group == "ASB":
            continue
        by_classification.setdefault(w.classification, []).append(w.key)

    ho_codes = []
    classification_category: dict[str, str] = {}
    for r in _rows(calibration_path("offence_mix_2017_18.csv")):
        codes = [c for c in r["chi_classification_codes"].split("|") if c]
        for c in codes:
            classification_category[c] = r["category"]
        keys = tuple(sorted(k for c in codes for k in by_classification.get(c, [])))
        if int(r["crimes"]) > 0 and keys:
            ho_codes.append(HomeOfficeCode(r["ho_code"], r["category"], int(r["crimes"]), keys))

    outcomes: dict[str, dict[str, int]] = {}
    for r in _rows(calibration_path("outcomes_2024.csv")):
        outcomes.setdefault(r["category"], {})[r["last_outcome_category"]] = int(r["crimes"])

    return Sources(
        categories=categories,
        month_category=month_category,
        lsoas=lsoas,
        lsoa_district=lsoa_district,
        districts=districts,
        lsoa_neighbourhood=tuple(r["neighbourhood_name"] for r in geo),
        place_codes=place_codes,
        place_category=place_category,
        ho_codes=tuple(ho_codes),
        weights=weights,
        outcomes=outcomes,
        classification_category=classification_category,
    )


@dataclass(frozen=True)
class NameLists:
    forenames: dict[tuple[str, str], tuple[str, ...]]
    """(sex, origin) -> forenames, most common first."""
    surnames: dict[str, tuple[str, ...]]
    """origin -> surnames, most common first."""
    organisations: tuple[tuple[str, str, float], ...]
    """(name, kind, weight) of national and regional organisations."""
    business_patterns: tuple[tuple[str, float], ...]


@cache
def load_names() -> NameLists:
    folder = data_dir() / "names"
    forenames: dict[tuple[str, str], list[str]] = {}
    for r in _rows(folder / "forenames.csv"):
        forenames.setdefault((r["sex"], r["origin"]), []).append(r["name"])
    surnames: dict[str, list[str]] = {}
    for r in _rows(folder / "surnames.csv"):
        surnames.setdefault(r["origin"], []).append(r["name"])
    return NameLists(
        forenames={k: tuple(v) for k, v in forenames.items()},
        surnames={k: tuple(v) for k, v in surnames.items()},
        organisations=tuple(
            (r["name"], r["kind"], float(r["weight"])) for r in _rows(folder / "organisations.csv")
        ),
        business_patterns=tuple(
            (r["pattern"], float(r["weight"])) for r in _rows(folder / "businesses.csv")
        ),
    )
