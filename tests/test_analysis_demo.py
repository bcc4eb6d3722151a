"""The profile on the generated demo extract: figures inside the calibration bands, the
over-recording screen against the generator's truth file, and ``chi profile`` end to end.

Uses the session fixture ``generated_extract`` (24 months from 2023-01, seed 7, default
defects) when ``tests/conftest.py`` provides it, else generates the same extract here. The
extract is scored once and read once for the whole module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from chi.analysis.document import Profile
from chi.analysis.profile import Request, build_profile
from chi.analysis.source import Source, load_run
from chi.reading.lists import area_scope
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish


@pytest.fixture(scope="module")
def extract(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return Path(request.getfixturevalue("generated_extract"))
    except pytest.FixtureLookupError:
        from chi.generate import GenerateOptions, generate_extract

        out = tmp_path_factory.mktemp("demo") / "extract"
        generate_extract(out, GenerateOptions(seed=7, start="2023-01", months=24))
        return out


@pytest.fixture(scope="module")
def run_path(extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return score_and_publish(extract, tmp_path_factory.mktemp("runs"), Policy())


@pytest.fixture(scope="module")
def source(run_path: Path) -> Source:
    return load_run(open_run(run_path))


@pytest.fixture(scope="module")
def year_2024(source: Source) -> Profile:
    return build_profile(source, Request.for_period("2024-01:2024-12"))


@pytest.fixture(scope="module")
def year_2023(source: Source) -> Profile:
    """A year with a full year (and, from January, two years) of follow-up."""
    return build_profile(source, Request.for_period("2023-01:2023-12"))


def test_concentration_within_calibration_bands(year_2024: Profile) -> None:
    c = year_2024.concentration
    assert 0.025 <= c["victims_harm"].holding["85"] <= 0.06  # Dudfield et al.: < 4%
    assert c["dyads_harm"].holding["80"] <= 0.05  # Bland & Ariel: < 2%
    assert c["victims_harm"].gini is not None and c["victims_harm"].gini > 0.8
    assert c["victims_harm"].gini > (c["victims_count"].gini or 1)  # harm beyond counts


def test_repeats_within_calibration_bands(year_2023: Profile, year_2024: Profile) -> None:
    r = year_2024.repeats
    assert 0.20 <= (r["victims"].rate.repeat_harm_share or 0) <= 0.40
    early = r["victims"].hazard[0].per_1000_days
    late = next(h for h in r["victims"].hazard if h.lo == 180).per_1000_days
    assert early is not None and late is not None and early >= 3 * late
    dyads = year_2023.repeats["dyads"].no_repeat_12m
    assert dyads is not None and 0.65 <= dyads <= 0.85  # Bland & Ariel: 76%
    ipv = year_2023.repeats["ipv_perpetrators"].no_repeat_24m
    assert ipv is not None and 0.65 <= ipv <= 0.85  # Barnham et al.: 77.6%
    assert 0.03 <= year_2024.serial["share"] <= 0.10  # MATAC serial perpetrators
    assert year_2024.escalation.severity.verdict != "rises"  # flat or falling
    assert 0.03 <= (year_2024.overlap["violence_share"] or 0) <= 0.10  # Peel: 6%


def test_over_recording_against_the_truth_file(source: Source) -> None:
    from chi.analysis.overrecording import over_recording

    assert source.duplicates_truth is not None
    whole = over_recording(
        source.victimisations,
        source.suspects,
        source.crimes,
        source.crimes["recorded_date"].min(),  # type: ignore[arg-type]
        source.as_of,
        truth=source.duplicates_truth,
    )
    assert whole.truth_duplicates and whole.truth_duplicates > 50
    assert whole.recall is not None and whole.recall >= 0.95
    # Genuine repeat harassment by the same suspect within a week happens (the generator
    # spreads DA repeats over months, but some still fall within days), so some flags are
    # real repeats: the screen is for an auditor, and says so.
    assert whole.precision is not None and 0.3 <= whole.precision < 1.0
    assert whole.flagged > (whole.true_positives or 0)
    assert whole.harm_added > 0


def test_board_table_on_the_demo(year_2024: Profile) -> None:
    board = year_2024.board
    assert board.month == "2024-12"
    rows = {r.group: r for r in board.rows}
    assert rows["domestic_abuse"].this_month > rows["rape"].this_month > 0
    assert rows["domestic_abuse"].average_3y is None  # 24 months cannot give 36
    assert rows["domestic_abuse"].versus_1y in {"Higher", "Comparable", "Lower"}
    assert rows["domestic_abuse"].outcome is not None


def test_areas_add_up_to_at_most_the_force(source: Source, year_2024: Profile) -> None:
    north = build_profile(source, Request.for_period("2024-01:2024-12", area_scope("North")))
    south = build_profile(source, Request.for_period("2024-01:2024-12", area_scope("South")))
    total = year_2024.meta["da_crimes"]
    assert north.meta["da_crimes"] + south.meta["da_crimes"] <= total
    assert north.meta["da_crimes"] > 0 and south.meta["da_crimes"] > 0
    assert north.readings["headline"] != south.readings["headline"]


_EXTERNAL = re.compile(
    r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*['\"]?\s*(https?:)?//", re.I
)


def test_chi_profile_end_to_end(run_path: Path, tmp_path: Path, extract: Path) -> None:
    from chi.cli import app

    html_path, json_path = tmp_path / "report.html", tmp_path / "figures.json"
    result = CliRunner().invoke(
        app,
        [
            "profile",
            str(run_path),
            "--period",
            "2024-01:2024-12",
            "--area",
            "North",
            "--out",
            str(html_path),
            "--json",
            str(json_path),
        ],
    )
    assert result.exit_code == 0, result.output
    document = html_path.read_text(encoding="utf-8")
    figures = json.loads(json_path.read_text(encoding="utf-8"))

    assert "<svg" in document and "Safeguarding the Vulnerable" in document
    assert not _EXTERNAL.search(document), "the report must work offline"
    assert "@import" not in document and "url(http" not in document

    assert figures["meta"]["scope"] == "North area"
    # Generated data says so at the top of every output, before any figure or reading.
    assert result.output.startswith("SYNTHETIC DATA")
    assert figures["notice"].startswith("SYNTHETIC DATA") and next(iter(figures)) == "notice"
    body = document[document.index("<body>") :]
    notice = body.index("SYNTHETIC DATA")
    assert notice < body.index("<h1>") < body.index(figures["readings"]["headline"][:40])
    assert "Key findings" not in document and "not findings" in document
    assert figures["readings"]["headline"] in document
    assert figures["readings"]["board"] in document
    for row in figures["board"]["rows"]:
        assert f"<td>{row['this_month']:,}</td>" in document
    assert figures["concentration"]["da_victims_harm"]["units"] == figures["meta"]["da_victims"]

    persons = pl.read_parquet(sorted((extract / "persons.parquet").parent.glob("persons*")))
    people = persons.filter(pl.col("name").is_not_null()).head(200)
    text = document + json_path.read_text(encoding="utf-8")
    for name in people["name"].to_list():
        assert name not in text
    for pid in people["person_id"].to_list():
        assert pid not in text


def test_chi_profile_errors_are_one_line(run_path: Path, tmp_path: Path) -> None:
    from chi.cli import app

    runner = CliRunner()
    bad_area = runner.invoke(
        app,
        [
            "profile",
            str(run_path),
            "--period",
            "2024-01:2024-12",
            "--area",
            "East",
            "--out",
            str(tmp_path / "x.html"),
        ],
    )
    assert bad_area.exit_code == 2 and "unknown policing area" in bad_area.output
    late = runner.invoke(
        app,
        [
            "profile",
            str(run_path),
            "--period",
            "2024-06:2025-06",
            "--json",
            str(tmp_path / "x.json"),
        ],
    )
    assert late.exit_code == 2 and "as-of" in late.output
    nothing = runner.invoke(app, ["profile", str(run_path), "--period", "2024-01"])
    assert nothing.exit_code == 2 and "--out" in nothing.output
