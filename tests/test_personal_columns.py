"""``Column.personal`` at work: the README's personal-data notes are generated from it, the
Data quality page masks every column it marks, and no value of a personal column reaches
the domestic abuse profile's JSON (a small generated extract, every one of its personal
values searched for in the document).

Personal columns with allowed values (sex, ethnicity, DASH grade) may appear in the profile
only as the label of a counted group (``{"sex": "F", "count": 144, ...}``); every other
personal value (names, dates of birth and death, LSOA codes) must not appear at all, nor
may a person id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chi.analysis.profile import Request, build_profile
from chi.analysis.report import render_json
from chi.analysis.source import load_run
from chi.app.pages.quality import MASK, mask_personal
from chi.contract import PERSONAL_COLUMNS, TABLES, personal_notes
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- personal columns: begin (generated from chi/contract.py: personal_notes()) -->\n"
END = "<!-- personal columns: end -->"


def test_readme_lists_exactly_the_personal_columns() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert shown == personal_notes(), "regenerate the block from chi.contract.personal_notes()"
    # Hand-checked against shared/spec/data-contract.md: the columns that describe a person
    # or where they live, the crime's place, and the victim's risk grade.
    assert [f"{t}.{c.name}" for t, c in PERSONAL_COLUMNS] == [
        "crimes.lsoa_code",
        "persons.name",
        "persons.sex",
        "persons.birth_date",
        "persons.ethnicity",
        "persons.home_lsoa_code",
        "persons.deceased_date",
        "victims.dash_risk",
    ]


def test_quality_mask_covers_every_personal_column_and_no_other() -> None:
    rows: list[dict[str, str | None]] = [
        {"table": t.name, "column": c.name, "reason": "bad", "value": f"V-{t.name}-{c.name}"}
        for t in TABLES.values()
        for c in t.columns
    ]
    rows.append({"table": "crimes", "column": None, "reason": "duplicate key", "value": "K"})
    masked = mask_personal(pl.DataFrame(rows))
    personal = {(t, c.name) for t, c in PERSONAL_COLUMNS}
    for r in masked.iter_rows(named=True):
        if (r["table"], r["column"]) in personal:
            assert r["value"] == MASK, r
        else:
            assert r["value"] != MASK, r
    assert masked.filter(pl.col("value") == MASK).height == len(personal) == 8
    # the same column name in a table where it is not personal is not masked
    other = mask_personal(
        pl.DataFrame([{"table": "persons", "column": "lsoa_code", "reason": "x", "value": "v"}])
    )
    assert other["value"].to_list() == ["v"]


@pytest.fixture(scope="module")
def small_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    extract = tmp_path_factory.mktemp("personal") / "extract"
    generate_extract(extract, GenerateOptions(seed=5, start="2023-01", months=13, scale=0.1))
    run = score_and_publish(extract, tmp_path_factory.mktemp("runs"), Policy())
    profile = build_profile(load_run(open_run(run)), Request.for_period("2023-01:2023-12"))
    text = render_json(profile)
    return extract, json.loads(text), text


def _values(extract: Path, table: str, column: str) -> list[str]:
    """Every distinct value of a column of the extract (a table is a file or a folder)."""
    files = [*extract.glob(f"{table}.parquet"), *(extract / table).glob("**/*.parquet")]
    assert files, f"no {table} files in {extract}"
    frame = pl.concat([pl.read_parquet(f, columns=[column]) for f in files])
    return sorted(frame[column].drop_nulls().cast(pl.String).unique().to_list())


def _objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(o for v in node.values() for o in _objects(v))]
    if isinstance(node, list):
        return [o for v in node for o in _objects(v)]
    return []


def test_no_personal_value_reaches_the_profile_json(
    small_profile: tuple[Path, dict[str, Any], str],
) -> None:
    extract, document, text = small_profile
    meta = document["meta"]
    # The dates the profile is about (its period and the extract's as-of) are not a person's.
    own_dates = {meta["period_start"], meta["period_end"], meta["as_of"]}
    searched = 0
    for table, col in PERSONAL_COLUMNS:
        values = _values(extract, table, col.name)
        assert values, f"the extract has values of {table}.{col.name} to search for"
        if col.allowed is not None:
            continue  # checked as group labels below
        leaked = [v for v in values if v in text and v not in own_dates]
        assert not leaked, f"{table}.{col.name}: {len(leaked)} values in the profile JSON"
        searched += len(values)
    assert searched > 5000
    ids = _values(extract, "persons", "person_id")
    assert not [i for i in ids if i in text], "a person id in the profile JSON"

    enumerated = {c.name for _, c in PERSONAL_COLUMNS if c.allowed is not None}
    identifying = {c.name for _, c in PERSONAL_COLUMNS if c.allowed is None}
    labelled = 0
    for obj in _objects(document):
        assert not identifying & set(obj), f"a personal column in the profile: {sorted(obj)}"
        for key in enumerated & set(obj):
            assert isinstance(obj.get("count"), int), f"{key} outside a counted group: {obj}"
            labelled += 1
    assert labelled > 0, "the profile counts victims by sex (a labelled group)"
