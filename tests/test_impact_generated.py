"""The impact review against a known truth: generated extracts where engagement removes a
known share E of the engaged people's later victimisations.

Stated tolerances (seed 7, 24 months from 2023-01, scale 1: about 1,800 matched engaged
people with a complete six-month after-period against about 2,950 matched comparisons):

- victimisations: the difference-in-differences estimate is within ±0.15 of −E (its
  standard error here is about 0.1 by the bootstrap, so that is one and a half standard
  errors), and its 95% interval covers −E;
- harm: heavy tailed (one homicide is 5,475 days), so its standard error at this size is
  about 0.2; the test asks only that the 95% interval covers −E;
- both: the naive before/after change overstates the effect many times over, beyond the
  tolerance and outside the interval; with E = 0 both intervals cover zero.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from meeting_fixtures import BASE, Engaged, engaged_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.generate import generate_extract
from chi.meetings.impact import ImpactResult, impact_review
from chi.months import add_months, month_label, parse_month
from chi.reading.lists import neighbourhoods

E = 0.3
TOLERANCE = 0.15


@pytest.fixture(scope="module")
def treated(tmp_path_factory: pytest.TempPathFactory) -> Engaged:
    return engaged_extract(tmp_path_factory, E)


@pytest.fixture(scope="module")
def untreated(tmp_path_factory: pytest.TempPathFactory) -> Engaged:
    return engaged_extract(tmp_path_factory, 0.0)


def _review(x: Engaged, reps: int = 1000) -> ImpactResult:
    return impact_review(
        pl.read_parquet(x.run.file("victim_list")),
        pl.read_parquet(x.run.file("victimisations")),
        pl.read_parquet(x.extract / "truth" / "engagements.parquet"),
        neighbourhoods().select("neighbourhood_code", "area"),
        x.run.manifest.months[-1],
        reps=reps,
    )


@pytest.fixture(scope="module")
def review(treated: Engaged) -> ImpactResult:
    return _review(treated)


def test_engagements_are_a_share_of_each_months_new_entries(treated: Engaged) -> None:
    eng = pl.read_parquet(treated.extract / "truth" / "engagements.parquet")
    assert eng.columns == [
        "subject_type",
        "person_id",
        "index_month",
        "area",
        "meeting_date",
        "decision",
        "engagement_start",
        "engagement_end",
        "owner",
        "effect",
        "selection",
    ]
    assert eng["person_id"].is_unique().all(), "each person is engaged at most once"
    assert set(eng["effect"]) == {E} and set(eng["selection"]) == {"random"}
    for r in eng.head(50).iter_rows(named=True):
        start = add_months(parse_month(r["index_month"]), 1)
        assert r["engagement_start"] == r["meeting_date"] == start
        assert r["engagement_end"] == add_months(start, 6) - timedelta(days=1)
    # The engaged are listed as new in their index month, and about 30% of those who could be.
    listed = pl.read_parquet(treated.run.file("victim_list"))
    joined = eng.join(listed, left_on=["person_id", "index_month"], right_on=["person_id", "month"])
    assert joined.height == eng.height and set(joined["status"]) == {"new"}
    new = listed.filter(pl.col("status") == "new").group_by("month").len()
    share = eng.group_by("index_month").len().join(new, left_on="index_month", right_on="month")
    assert (share["len"] / share["len_right"]).is_between(0.2, 0.31).all()
    assert eng["index_month"].max() == month_label(add_months(parse_month("2024-12"), -1))


def test_removals_are_later_victimisations_of_the_engaged_at_rate_e(
    treated: Engaged, untreated: Engaged
) -> None:
    removed = pl.read_parquet(treated.extract / "truth" / "engagement_removals.parquet")
    assert pq.read_table(untreated.extract / "truth" / "engagement_removals.parquet").num_rows == 0
    before = pl.read_parquet(untreated.run.file("victimisations"))
    eng = pl.read_parquet(treated.extract / "truth" / "engagements.parquet")
    later = before.join(eng.select("person_id", "engagement_start"), on="person_id").filter(
        pl.col("recorded_date") >= pl.col("engagement_start")
    )
    assert removed.join(later, on=["crime_id", "person_id"], how="anti").is_empty()
    assert removed.height / later.height == pytest.approx(E, abs=0.04)
    after = pl.read_parquet(treated.run.file("victimisations"))
    assert before.height - after.height == removed.height
    assert after.join(removed, on=["crime_id", "person_id"], how="semi").is_empty()


def test_with_no_effect_the_extract_is_the_generators_own(
    tmp_path: Path, untreated: Engaged
) -> None:
    plain = tmp_path / "plain"
    generate_extract(plain, BASE)
    files = sorted(p.relative_to(plain) for p in plain.rglob("*.parquet") if p.parts[-2] != "truth")
    assert len(files) == 6
    for name in files:
        assert (plain / name).read_bytes() == (untreated.extract / name).read_bytes(), name


def test_comparison_estimate_recovers_the_effect_and_naive_overstates(
    review: ImpactResult,
) -> None:
    v, h = review.victimisations, review.harm
    assert review.engaged > 1500 and review.comparison > 2500
    assert v.relative_effect == pytest.approx(-E, abs=TOLERANCE)
    assert v.ci_low <= -E <= v.ci_high
    assert h.ci_low <= -E <= h.ci_high
    for m in (v, h):
        assert m.naive_change < -E - TOLERANCE
        assert m.naive_change < m.ci_low, "the naive figure is outside the interval"
    assert not v.covers_zero
    assert "regression to the mean" in review.explanation()


def test_with_no_effect_the_intervals_cover_zero(untreated: Engaged) -> None:
    r = _review(untreated)
    assert r.harm.covers_zero and r.victimisations.covers_zero
    assert r.harm.naive_change < -0.8, "a before/after review would still claim success"
    assert "cannot tell engagement's effect on harm from chance" in r.explanation()


def test_decisions_import_and_chi_impact_give_the_same_review(
    tmp_path: Path, treated: Engaged
) -> None:
    runner = CliRunner()
    truth = treated.extract / "truth" / "engagements.parquet"
    store = tmp_path / "state.sqlite"
    done = runner.invoke(app, ["decisions", "import", str(truth), "--store", str(store)])
    assert done.exit_code == 0, done.output
    n = pq.read_table(truth).num_rows
    assert f"read {n:,}  imported {n:,}  unchanged 0  rejected 0" in done.output
    out = tmp_path / "impact.json"
    shown = runner.invoke(
        app,
        [
            "impact",
            str(treated.run.path),
            "--store",
            str(store),
            "--reps",
            "200",
            "--json",
            str(out),
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "difference in differences" in shown.output and "naive before/after" in shown.output
    from_file = runner.invoke(
        app, ["impact", str(treated.run.path), "--engagements", str(truth), "--reps", "200"]
    )
    assert from_file.stdout.split("\n")[1:] == shown.stdout.split("\n")[1:]
    body = json.loads(out.read_text())
    assert body["engaged"] == _review(treated, reps=0).engaged
    assert body["victimisations"]["relative_effect"] == pytest.approx(
        _review(treated, reps=0).victimisations.relative_effect
    )
