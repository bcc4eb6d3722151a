"""The run manifest is a typed ``Manifest`` (issue 10), and ``manifest.json`` on disk does not
change (data contract §4: additions only, never drift): the same fields in the same order,
the same indentation, a run from an earlier version still opens, and a field from a later
version is kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from factory import GBH_S20, crime, person, victim, write_extract

from chi.scoring.manifest import Manifest
from chi.scoring.policy import Policy
from chi.scoring.runs import RunError, open_run, score_and_publish

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
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
]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[
            crime("G1", "2024-03-15", offence_code=GBH_S20),
            crime("B1", "2024-04-01"),
        ],
        persons=[person("A"), person("B")],
        victims=[victim("G1", "A"), victim("B1", "B")],
        as_of="2024-05-31",
    )
    return score_and_publish(extract, tmp_path / "runs", Policy(), "2024-04:2024-05")


def test_manifest_json_is_written_as_before_and_reads_back_unchanged(run: Path) -> None:
    text = (run / "manifest.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    assert list(doc) == ORDER
    assert list(doc["extract"]) == ["path", "force", "as_of", "as_of_source", "files", "metadata"]
    assert list(doc["weights"]) == ["name", "version", "file", "sha256", "unit", "rows"]
    assert json.dumps(doc, indent=2) + "\n" == text, "the writer chi has always used"
    m = Manifest.from_json(text)
    assert m.to_json() == text
    assert m.months == ["2024-04", "2024-05"] and m.last_month == "2024-05"
    assert m.extract.as_of == "2024-05-31" and str(m.extract.as_of_date) == "2024-05-31"
    assert m.weights.name == "chi2020" and len(m.weights.sha256) == 64
    assert m.window_months == 12 and Policy.from_manifest(m.policy) == Policy()
    assert m.counts["crimes"] == {"read": 2, "accepted": 2, "rejected": 0}
    assert open_run(run).manifest == m


def test_a_run_from_an_earlier_version_opens_and_a_later_field_is_kept(run: Path) -> None:
    path = run / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key in ("chi_version", "digest", "first_month", "partial_months", "weight_rules"):
        del doc[key]
    for key in ("class_rule", "unmatched_codes"):
        del doc[key]
    del doc["extract"]["metadata"], doc["extract"]["as_of_source"]
    doc["added_by_a_later_chi"] = {"x": 1}
    path.write_text(json.dumps(doc), encoding="utf-8")
    m = open_run(run).manifest
    assert m.chi_version is None and m.first_month is None and m.partial_months == []
    assert m.extract.metadata is None and m.class_rule is None and m.weight_rules == []
    assert m.extra == {"added_by_a_later_chi": {"x": 1}}
    assert json.loads(m.to_json())["added_by_a_later_chi"] == {"x": 1}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("months"),
        lambda d: d.update(months=[]),
        lambda d: d.update(months=[202405]),
        lambda d: d.update(policy="lowest"),
        lambda d: d["extract"].pop("as_of"),
        lambda d: d["weights"].pop("sha256"),
    ],
)
def test_a_damaged_manifest_is_refused_in_one_line(run: Path, change: object) -> None:
    path = run / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(RunError, match=r"manifest\.json: not a chi run manifest \(fields"):
        open_run(run)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RunError, match="manifest is not valid JSON"):
        open_run(run)


def test_no_module_reads_the_manifest_by_string_keys() -> None:
    found = []
    for path in sorted((ROOT / "chi").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(r"manifest(\(\))?(\[|\.get\()", line):
                found.append(f"{path.relative_to(ROOT)}:{n}")
    assert found == []
