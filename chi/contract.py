"""Data contract v1, in code: the single source of truth for what an extract holds.

``shared/spec/data-contract.md`` is the interface chi promises to forces. This module states
it once (tables, columns, logical types, allowed values, nullability, keys, references and
the ``extract.json`` metadata) so that the generator writes it, the reader casts to it, the
validator enforces it and the tests check against it. Nothing else in chi spells a column
type or an allowed value by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa


CONTRACT_VERSION = "1"


def file_sha256(path: Path) -> str:
    """The checksum every manifest records for a file (extract files, run outputs, weight and
    rule tables, saved models), read in blocks so a large file never sits whole in memory."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


LogicalType = Literal["string", "date", "bool", "int"]

PERSON_TYPES = ("individual", "organisation")
SEXES = ("F", "M", "X")
ETHNICITIES = ("asian", "black", "mixed", "white", "other", "not_stated")
CRIME_STATUSES = ("recorded", "cancelled", "transferred")
DA_RELATIONSHIPS = ("intimate_partner", "ex_partner", "family", "other")
DASH_GRADES = ("standard", "medium", "high")
SUSPECT_ROLES = ("suspect", "offender", "charged")
GENERATING_MARKER = ".chi-generating"
"""A file in an extract folder that ``chi generate`` is still writing (or that a crash cut
short): such an extract is refused."""
EARLIEST_DATE = date(1900, 1, 1)
"""No date of an extract is earlier: year 0001 is a placeholder or a typo, not a date."""


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    nullable: bool
    description: str
    allowed: tuple[str, ...] | None = None
    int_range: tuple[int, int] | None = None
    personal: bool = False
    """Personal data: never logged, never in an error message, masked in the browser when
    rejected, never in the profile (``PERSONAL_COLUMNS``; README.md lists them from it)."""


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    may_be_empty: bool = False
    date_columns_after_as_of: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


CRIMES = Table(
    name="crimes",
    description="one row per recorded crime",
    key=("crime_id",),
    date_columns_after_as_of=("recorded_date", "occurred_date", "outcome_date"),
    columns=(
        Column("crime_id", "string", False, "unique crime reference (e.g. 37/104512/24)"),
        Column("recorded_date", "date", False, "date the crime was recorded"),
        Column("occurred_date", "date", True, "date the offence began; null = unknown"),
        Column("offence_code", "string", True, "fine offence key of the weight set (CHI)"),
        Column("ho_class", "string", True, "Home Office class/subclass CCC/SS"),
        Column("lsoa_code", "string", True, "LSOA 2021 where the crime happened", personal=True),
        Column("domestic_abuse", "bool", False, "domestic abuse qualifier"),
        Column("da_relationship", "string", True, "DA relationship", allowed=DA_RELATIONSHIPS),
        Column("hate", "bool", False, "hate crime qualifier"),
        Column("status", "string", False, "recorded/cancelled/transferred", CRIME_STATUSES),
        Column("outcome_code", "int", True, "Home Office outcome type 1-22", int_range=(1, 22)),
        Column("outcome_date", "date", True, "date the outcome was assigned"),
    ),
)

PERSONS = Table(
    name="persons",
    description="one row per person or organisation",
    key=("person_id",),
    date_columns_after_as_of=("birth_date", "deceased_date"),
    columns=(
        Column("person_id", "string", False, "unique nominal reference"),
        Column("person_type", "string", False, "individual or organisation", PERSON_TYPES),
        Column("name", "string", True, "display name", personal=True),
        Column("sex", "string", True, "F, M or X", SEXES, personal=True),
        Column("birth_date", "date", True, "date of birth", personal=True),
        Column("ethnicity", "string", True, "ONS 5+1 group", ETHNICITIES, personal=True),
        Column("home_lsoa_code", "string", True, "LSOA 2021 of home address", personal=True),
        Column("deceased_date", "date", True, "date of death", personal=True),
    ),
)

# A victim and a suspect are each a person on a crime: the same two columns and references.
CRIME_PERSON_COLUMNS = (
    Column("crime_id", "string", False, "-> crimes"),
    Column("person_id", "string", False, "-> persons"),
)
CRIME_PERSON_REFERENCES = (
    Reference("crime_id", "crimes", "crime_id"),
    Reference("person_id", "persons", "person_id"),
)

VICTIMS = Table(
    name="victims",
    description="one row per victim of a crime",
    key=("crime_id", "person_id"),
    references=CRIME_PERSON_REFERENCES,
    columns=(
        *CRIME_PERSON_COLUMNS,
        Column(
            "dash_risk", "string", True, "DA risk grade at the time", DASH_GRADES, personal=True
        ),
    ),
)

SUSPECTS = Table(
    name="suspects",
    description="one row per suspect or offender of a crime",
    key=("crime_id", "person_id"),
    may_be_empty=True,
    references=CRIME_PERSON_REFERENCES,
    columns=(
        *CRIME_PERSON_COLUMNS,
        Column("role", "string", False, "suspect, offender or charged", SUSPECT_ROLES),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (CRIMES, PERSONS, VICTIMS, SUSPECTS)}
"""The four contract tables, in the order they are validated (referenced tables first)."""

PERSONAL_COLUMNS: tuple[tuple[str, Column], ...] = tuple(
    (t.name, c) for t in TABLES.values() for c in t.columns if c.personal
)
"""Every personal column as (table, column), in contract order: what the quality page
masks, what the README's personal-data notes list, what a profile must never carry."""


def personal_notes() -> str:
    """The Markdown table of the personal columns that README.md shows (a test keeps the two
    the same, so the notes cannot drift from the contract)."""
    lines = ["| table | column | what it holds |", "| --- | --- | --- |"]
    lines += [f"| {table} | `{c.name}` | {c.description} |" for table, c in PERSONAL_COLUMNS]
    return "\n".join(lines) + "\n"


DUCKDB_TYPES: dict[LogicalType, str] = {
    "string": "VARCHAR",
    "date": "DATE",
    "bool": "BOOLEAN",
    "int": "INTEGER",
}


def arrow_schema(table: Table) -> pa.Schema:
    """The physical schema chi itself writes for a table (readers accept others)."""
    import pyarrow as pa  # here, so that the contract's names cost no Arrow import (the store)

    types: dict[LogicalType, pa.DataType] = {
        "string": pa.string(),
        "date": pa.date32(),
        "bool": pa.bool_(),
        "int": pa.int16(),
    }
    return pa.schema([pa.field(c.name, types[c.type], nullable=c.nullable) for c in table.columns])


@dataclass(frozen=True)
class ExtractMeta:
    """``extract.json``: whose extract it is and the date it was taken (both optional)."""

    force: str | None = None
    as_of: date | None = None

    @classmethod
    def load(cls, folder: Path) -> ExtractMeta:
        path = folder / "extract.json"
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is allowed
        except (OSError, ValueError, RecursionError) as exc:
            raise ContractError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
        if not isinstance(raw, dict):
            raise ContractError(f"{path}: expected a JSON object with force and as_of")
        as_of = raw.get("as_of")
        try:
            parsed = date.fromisoformat(as_of) if as_of else None
        except (TypeError, ValueError):
            parsed = None
        if as_of and (
            parsed is None
            or not isinstance(as_of, str)
            or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of)
            or not 1900 <= parsed.year <= 2999
        ):
            shown = as_of if isinstance(as_of, str) else type(as_of).__name__
            raise ContractError(
                f"{path}: as_of {shown[:40]!r} is not a YYYY-MM-DD date from 1900 to 2999"
            ) from None
        force = raw.get("force")
        return cls(force=str(force) if force is not None else None, as_of=parsed)

    def dump(self, folder: Path) -> None:
        body: dict[str, str] = {}
        if self.force is not None:
            body["force"] = self.force
        if self.as_of is not None:
            body["as_of"] = self.as_of.isoformat()
        (folder / "extract.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


class ContractError(Exception):
    """An extract that cannot be read at all: a missing table, column or unreadable file.

    The message names the path and what is wrong and carries no personal data.
    """
