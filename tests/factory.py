"""Hand-made extracts for tests: write contract tables from short Python rows.

Defaults fill every column a test does not care about, so a fixture states only what it is
about (``crime("C1", "2024-03-05", offence_code="8N.8.6.0")``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chi.contract import TABLES, ExtractMeta, arrow_schema

ABH = "8N.8.6.0"  # Assault occasioning actual bodily harm: 10 days
MURDER = "1.1.1.1"  # 5475 days
SHOPLIFTING = "46.46.0.0"  # 1 day
GBH_S20 = "8N.8.1.1"  # 547.5 days

HOME_A = "E01017953"  # Cambridge, Arbury ward (E05013051)
LSOA_B = "E01015589"  # Peterborough, Barnack ward (E05010805)


_DATE_COLUMNS = {
    "recorded_date",
    "occurred_date",
    "outcome_date",
    "birth_date",
    "deceased_date",
}


def _d(v: Any) -> Any:
    return date.fromisoformat(v) if isinstance(v, str) else v


def _dates(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: _d(v) if k in _DATE_COLUMNS else v for k, v in kw.items()}


def crime(crime_id: str, recorded: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "crime_id": crime_id,
        "recorded_date": _d(recorded),
        "occurred_date": _d(kw.pop("occurred", recorded)),
        "offence_code": ABH,
        "ho_class": None,
        "lsoa_code": HOME_A,
        "domestic_abuse": False,
        "da_relationship": None,
        "hate": False,
        "status": "recorded",
        "outcome_code": None,
        "outcome_date": None,
    }
    row.update(_dates(kw))
    return row


def person(person_id: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_id": person_id,
        "person_type": "individual",
        "name": f"Person {person_id}",
        "sex": "F",
        "birth_date": date(1980, 1, 1),
        "ethnicity": "white",
        "home_lsoa_code": None,
        "deceased_date": None,
    }
    row.update(_dates(kw))
    return row


def victim(crime_id: str, person_id: str, dash_risk: str | None = None) -> dict[str, Any]:
    return {"crime_id": crime_id, "person_id": person_id, "dash_risk": dash_risk}


def suspect(crime_id: str, person_id: str, role: str = "suspect") -> dict[str, Any]:
    return {"crime_id": crime_id, "person_id": person_id, "role": role}


def write_extract(
    folder: Path,
    crimes: list[dict[str, Any]],
    persons: list[dict[str, Any]],
    victims: list[dict[str, Any]],
    suspects: list[dict[str, Any]] | None = None,
    as_of: str | None = "2024-12-31",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"crimes": crimes, "persons": persons, "victims": victims, "suspects": suspects or []}
    for name, rows in data.items():
        schema = arrow_schema(TABLES[name])
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, folder / f"{name}.parquet")
    ExtractMeta(force="Test", as_of=_d(as_of)).dump(folder)
    return folder
