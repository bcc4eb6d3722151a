"""A force's export in its own shape, made from the same rows as a contract extract.

``write_force_export`` takes contract rows (as ``tests.factory`` makes them) and writes what a
records system might export instead: other column names, ``DD/MM/YYYY`` dates, ``Y``/``N``
flags, its own status and role words, and offence codes as forces write them (Home Office
classes in several spellings, some in the offence-code column, retired subclasses, lower-case
keys). ``MAPPING`` is the mapping file that turns it back into the contract. Importing the
export must give an extract that scores to the same lists as the contract rows.
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from chi.offences import normal_ho_class

STATUS = {"recorded": "Confirmed", "cancelled": "No Crime", "transferred": "Transferred Out"}
ROLE = {"suspect": "Suspect", "offender": "Offender", "charged": "Charged"}
RELATIONSHIP = {
    "intimate_partner": "Partner",
    "ex_partner": "Ex-Partner",
    "family": "Family Member",
    "other": "Other",
}
PERSON_TYPE = {"individual": "Person", "organisation": "Business"}
SEX = {"F": "Female", "M": "Male", "X": "Not Known"}
ETHNICITY = {
    "asian": "A",
    "black": "B",
    "mixed": "M",
    "white": "W",
    "other": "O",
    "not_stated": "NS",
}
DASH = {"standard": "Standard", "medium": "Medium", "high": "High"}

RESPELL = ("{c}/{s}", "{c:02d}/{s:02d}", "{c:03d}/{s:02d}", "{c}/{s:02d}", "{c:03d}{s:02d}")
"""The spellings of a class a force may use: 8/1, 08/01, 008/01, 8/01, 00801."""

RETIRED = {"019/08": "019/03", "028/03": "028/90", "008/06": "008/05", "005/01": "005/81"}
"""A retired predecessor of some current subclasses (data/offences/retired_subclasses.csv)."""

MAPPING = """\
[source]
format = "csv"
date_format = "%d/%m/%Y"
true_values = ["Y"]
false_values = ["N"]

[extract]
force = "Test"
as_of = "2024-12-31"

[crimes]
file = "offences*.csv"

[crimes.columns]
crime_id = "CrimeRef"
recorded_date = "DateRecorded"
occurred_date = "DateCommitted"
offence_code = "OffenceCode"
ho_class = "HOClass"
lsoa_code = "LSOA"
domestic_abuse = "DAFlag"
da_relationship = "Relationship"
hate = "HateFlag"
status = "CrimeStatus"
outcome_code = "Outcome"
outcome_date = "OutcomeDate"

[crimes.values.status]
"Confirmed" = "recorded"
"No Crime" = "cancelled"
"Transferred Out" = "transferred"

[crimes.values.da_relationship]
"Partner" = "intimate_partner"
"Ex-Partner" = "ex_partner"
"Family Member" = "family"

[persons]
file = "nominals.csv"

[persons.columns]
person_id = "NominalRef"
person_type = "NominalType"
name = "FullName"
sex = "Gender"
birth_date = "DOB"
ethnicity = "EthnicGroup"
home_lsoa_code = "HomeLSOA"
deceased_date = "DateOfDeath"

[persons.values.person_type]
"Person" = "individual"
"Business" = "organisation"

[persons.values.sex]
"Female" = "F"
"Male" = "M"
"Not Known" = "X"

[persons.values.ethnicity]
"A" = "asian"
"B" = "black"
"M" = "mixed"
"W" = "white"
"O" = "other"
"NS" = "not_stated"

[victims]
file = "victims.csv"

[victims.columns]
crime_id = "CrimeRef"
person_id = "NominalRef"
dash_risk = "DASHGrade"

[suspects]
file = "suspects.csv"

[suspects.columns]
crime_id = "CrimeRef"
person_id = "NominalRef"
role = "InvolvementType"

[suspects.values.role]
"Suspect" = "suspect"
"Offender" = "offender"
"Charged" = "charged"
"""


def uk(d: date | None) -> str:
    return "" if d is None else f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def respell(ho_class: str, i: int) -> str:
    canonical = normal_ho_class(ho_class)
    if canonical is None:
        return ho_class
    c, s = (int(p) for p in canonical.split("/"))
    return RESPELL[i % len(RESPELL)].format(c=c, s=s)


def _offence(row: dict[str, Any], i: int) -> tuple[str, str]:
    """(OffenceCode, HOClass) as the force writes them, for crime number ``i``."""
    key, cls = row["offence_code"], row["ho_class"]
    if key is not None:
        return (key.lower() if i % 2 else f" {key} "), ""
    assert cls is not None
    if normal_ho_class(cls) in RETIRED and i % 3 == 0:
        cls = RETIRED[str(normal_ho_class(cls))]
    text = respell(cls, i)
    if i % 4 != 1:
        return "", text
    if text.upper() in _ho_codes():
        # '4/4' in the offence-code column is Home Office code 4/4 (004/04 and 004/12), not
        # class 004/04 (docs/scoring.md §3): a force writing the class there pads it
        text = respell(cls, 2)
    return text, ""


@cache
def _ho_codes() -> frozenset[str]:
    """The weight set's Home Office offence codes written with a slash (4/3, 4/4, 37/2)."""
    from chi.reference import load_weight_set

    with load_weight_set("chi2020").path.open(encoding="utf-8") as fh:
        return frozenset(
            r["classification_code"].upper()
            for r in csv.DictReader(fh)
            if "/" in r["classification_code"]
        )


def force_rows(
    crimes: list[dict[str, Any]],
    persons: list[dict[str, Any]],
    victims: list[dict[str, Any]],
    suspects: list[dict[str, Any]],
) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The export's files: name -> (header, rows), all text."""
    crime_rows = []
    for i, c in enumerate(crimes):
        code, cls = _offence(c, i)
        crime_rows.append(
            [
                "Sgt Example",  # a column the mapping does not use
                c["crime_id"],
                uk(c["recorded_date"]),
                uk(c["occurred_date"]),
                code,
                cls,
                c["lsoa_code"] or "",
                "Y" if c["domestic_abuse"] else "N",
                RELATIONSHIP.get(c["da_relationship"] or "", ""),
                "y" if c["hate"] else "n",
                STATUS[c["status"]],
                "" if c["outcome_code"] is None else str(c["outcome_code"]),
                uk(c["outcome_date"]),
            ]
        )
    person_rows = [
        [
            p["person_id"],
            PERSON_TYPE[p["person_type"]],
            p["name"] or "",
            SEX.get(p["sex"] or "", ""),
            uk(p["birth_date"]),
            ETHNICITY.get(p["ethnicity"] or "", ""),
            p["home_lsoa_code"] or "",
            uk(p["deceased_date"]),
        ]
        for p in persons
    ]
    return {
        "offences.csv": (
            [
                "OfficerInCase",
                "CrimeRef",
                "DateRecorded",
                "DateCommitted",
                "OffenceCode",
                "HOClass",
                "LSOA",
                "DAFlag",
                "Relationship",
                "HateFlag",
                "CrimeStatus",
                "Outcome",
                "OutcomeDate",
            ],
            crime_rows,
        ),
        "nominals.csv": (
            [
                "NominalRef",
                "NominalType",
                "FullName",
                "Gender",
                "DOB",
                "EthnicGroup",
                "HomeLSOA",
                "DateOfDeath",
            ],
            person_rows,
        ),
        "victims.csv": (
            ["CrimeRef", "NominalRef", "DASHGrade"],
            [[v["crime_id"], v["person_id"], DASH.get(v["dash_risk"] or "", "")] for v in victims],
        ),
        "suspects.csv": (
            ["CrimeRef", "NominalRef", "InvolvementType"],
            [[s["crime_id"], s["person_id"], ROLE[s["role"]]] for s in suspects],
        ),
    }


def write_force_export(
    folder: Path,
    crimes: list[dict[str, Any]],
    persons: list[dict[str, Any]],
    victims: list[dict[str, Any]],
    suspects: list[dict[str, Any]],
) -> Path:
    """Write the export as CSV files in ``folder`` (crimes split over two files)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = force_rows(crimes, persons, victims, suspects)
    header, rows = files.pop("offences.csv")
    half = len(rows) // 2
    files["offences_2024a.csv"] = (header, rows[:half])
    files["offences_2024b.csv"] = (header, rows[half:])
    for name, (head, body) in files.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(head)
            w.writerows(body)
    (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return folder
