"""The impact review when meetings choose whom to engage (generated, 36 months at scale 1,
seed 1, no defects): the meeting engages the listed people with the most crimes, or the
highest harm, in their window, so a naive before/after review and an unmatched comparison
both see a reduction that is only regression to the mean. The review matches each engaged
person with listed people who were not engaged on the whole pre-period path, and must
recover the truth.

Stated tolerances (issue 13; docs/meetings.md has the measured figures for development
seeds 1-3 and held-out seeds 11-15, with the standard errors they imply), for both
``top_crimes`` and ``top_harm``: with no effect the 95% interval on victimisations covers
zero and the estimate is within ±0.08; with a true effect of 0.3 the estimate is within
±0.07 of −0.30 and the interval covers −0.30 and not zero. Seed 1 is a development seed;
the docs say on how many of the other seeds each tolerance holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from chi.cli import app
from chi.generate import GenerateOptions, generate_extract
from chi.generate.engagement import apply_engagement
from chi.meetings.impact import SMD_LIMIT, ImpactResult, impact_review
from chi.reading.lists import neighbourhoods
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish

BASE = GenerateOptions(seed=1, start="2022-01", months=36, defect_rate=0.0)
_BUILT: dict[tuple[str, float], tuple[Path, Run]] = {}
_PLAIN: list[Path] = []


def _plain(factory: pytest.TempPathFactory) -> Path:
    """The extract without engagement, generated once for every scenario: the engagement
    step only reads it, engages and removes (its own random stream), which is all
    ``generate_extract`` does after writing it, so each scenario below is the extract
    ``chi generate --engagement-effect E --engagement-selection S`` writes."""
    if not _PLAIN:
        root = factory.mktemp("plain")
        generate_extract(root / "extract", BASE)
        _PLAIN.append(root / "extract")
    return _PLAIN[0]


def _scenario(factory: pytest.TempPathFactory, selection: str, effect: float) -> tuple[Path, Run]:
    key = (selection, effect)
    if key not in _BUILT:
        root = factory.mktemp(f"{selection}-{effect}")
        shutil.copytree(_plain(factory), root / "extract")
        apply_engagement(
            root / "extract", BASE.seed, effect, BASE.engagement_share, selection=selection
        )
        run = open_run(score_and_publish(root / "extract", root / "runs", Policy()))
        _BUILT[key] = (root / "extract", run)
    return _BUILT[key]


def _review(x: tuple[Path, Run], reps: int = 400) -> ImpactResult:
    extract, run = x
    return impact_review(
        pl.read_parquet(run.file("victim_list")),
        pl.read_parquet(run.file("victimisations")),
        pl.read_parquet(extract / "truth" / "engagements.parquet"),
        neighbourhoods().select("neighbourhood_code", "area"),
        run.manifest.months[-1],
        reps=reps,
    )


@pytest.fixture(scope="module")
def crimes0(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    return _scenario(tmp_path_factory, "top_crimes", 0.0)


@pytest.fixture(scope="module")
def review_crimes0(crimes0: tuple[Path, Run]) -> ImpactResult:
    return _review(crimes0)


def _percentile_of_engaged(x: tuple[Path, Run], column: str) -> tuple[float, float]:
    """(mean percentile of the engaged within their area and month's pool of new entries,
    share of the bottom half of the pool that was engaged)."""
    extract, run = x
    eng = pl.read_parquet(extract / "truth" / "engagements.parquet")
    areas = neighbourhoods().select("neighbourhood_code", "area")
    pool = (
        pl.read_parquet(run.file("victim_list"))
        .filter(pl.col("status") == "new")
        .join(areas, on="neighbourhood_code")
        .join(
            eng.select("person_id", pl.col("index_month").alias("month"), pl.lit(1).alias("e")),
            on=["person_id", "month"],
            how="left",
        )
        .filter(pl.col("month").is_in(eng["index_month"].unique().implode()))
        .with_columns(
            (
                pl.col(column).rank("average").over("month", "area")
                / pl.len().over("month", "area")
            ).alias("pct"),
            pl.col("e").fill_null(0),
        )
    )
    engaged = pool.filter(pl.col("e") == 1)
    bottom = pool.filter(pl.col("pct") <= 0.5)
    return float(engaged["pct"].mean()), float(bottom["e"].mean())  # type: ignore[arg-type]


def test_the_meeting_picks_the_most_crimes_but_not_only_them(crimes0: tuple[Path, Run]) -> None:
    extract, _ = crimes0
    eng = pl.read_parquet(extract / "truth" / "engagements.parquet")
    assert set(eng["selection"]) == {"top_crimes"} and eng["person_id"].is_unique().all()
    mean_pct, bottom_share = _percentile_of_engaged(crimes0, "crimes")
    assert mean_pct > 0.65, "the engaged are the people with most crimes"
    assert 0 < bottom_share < 0.2, "yet people with few crimes are sometimes engaged too"


def test_top_crimes_with_no_effect_the_review_sees_none(review_crimes0: ImpactResult) -> None:
    r = review_crimes0
    v = r.victimisations
    assert v.naive_change < -0.5, "a before/after review claims a large fall"
    assert v.covers_zero and abs(v.relative_effect) <= 0.08
    crimes = next(b for b in r.balance if b.feature == "crimes in the listing window")
    assert crimes.smd_before > 1, "unmatched, the groups are far apart before"
    assert abs(crimes.smd_after) < SMD_LIMIT
    assert r.placebo_victimisations.covers_zero
    assert r.cohort == r.engaged + r.unmatched_engaged + r.not_yet_reviewable + r.not_listed
    assert r.not_listed == 0 and 0.5 <= r.matched_share < 1


def test_top_crimes_recovers_a_true_effect(tmp_path_factory: pytest.TempPathFactory) -> None:
    v = _review(_scenario(tmp_path_factory, "top_crimes", 0.3)).victimisations
    assert v.relative_effect == pytest.approx(-0.3, abs=0.07)
    assert v.ci_low <= -0.3 <= v.ci_high and not v.covers_zero
    assert v.naive_change < -0.6


def test_top_harm_with_no_effect_the_review_sees_none(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    x = _scenario(tmp_path_factory, "top_harm", 0.0)
    mean_pct, _ = _percentile_of_engaged(x, "harm_days")
    assert mean_pct > 0.65
    r = _review(x)
    v = r.victimisations
    assert v.naive_change < -0.5, "a before/after review claims a large fall"
    assert v.covers_zero and abs(v.relative_effect) <= 0.08
    harm = next(b for b in r.balance if b.feature == "harm in the listing window (log days)")
    assert harm.smd_before > 1 and abs(harm.smd_after) < SMD_LIMIT
    assert r.placebo_victimisations.covers_zero
    assert r.mde_victimisations is not None and r.mde_victimisations > abs(v.relative_effect)
    assert "only a change larger than about" in r.power_text()


def test_top_harm_recovers_a_true_effect(tmp_path_factory: pytest.TempPathFactory) -> None:
    v = _review(_scenario(tmp_path_factory, "top_harm", 0.3)).victimisations
    assert v.relative_effect == pytest.approx(-0.3, abs=0.07)
    assert v.ci_low <= -0.3 <= v.ci_high and not v.covers_zero
    assert v.naive_change < -0.6


def test_the_command_line_and_json_carry_balance_placebo_and_power(
    tmp_path: Path, crimes0: tuple[Path, Run], review_crimes0: ImpactResult
) -> None:
    extract, run = crimes0
    out = tmp_path / "impact.json"
    result = CliRunner().invoke(
        app,
        [
            "impact",
            str(run.path),
            "--engagements",
            str(extract / "truth" / "engagements.parquet"),
            "--reps",
            "400",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "balance (standardised mean difference" in result.stdout
    assert "crimes in the listing window" in result.stdout and "placebo" in result.stdout
    assert "only a change larger than about" in result.stdout
    body = json.loads(out.read_text())
    assert body["victimisations"]["relative_effect"] == pytest.approx(
        review_crimes0.victimisations.relative_effect
    )
    assert len(body["balance"]) == len(review_crimes0.balance)
    assert set(body["balance"][0]) == {
        "feature",
        "engaged",
        "pool",
        "comparison",
        "smd_before",
        "smd_after",
    }
    assert body["verdict_withheld"] == bool(body["withheld_reasons"])
    assert body["minimum_detectable_effect"]["victimisations"] == pytest.approx(
        review_crimes0.mde_victimisations
    )
    assert body["matched_share"] == pytest.approx(review_crimes0.matched_share)
    assert np.isfinite(body["placebo"]["victimisations"]["ci_low"])


def test_the_meetings_rank_with_judgement_by_tenth_of_the_pool() -> None:
    # One month, one area, 100 new entries with harm 10, 20, ..., 1,000 days: over 200
    # meetings, 30 are engaged each time, the chance rises with harm, the top tenth is
    # (almost) always taken and the bottom half almost never.
    from datetime import date

    from chi.generate.engagement import choose_engagements

    code = neighbourhoods().filter(pl.col("area") == "North")["neighbourhood_code"][0]
    pool = pl.DataFrame(
        {
            "month": ["2024-01"] * 100,
            "person_id": [f"P{i:03d}" for i in range(100)],
            "neighbourhood_code": [code] * 100,
            "harm_days": [10.0 * (i + 1) for i in range(100)],
            "crimes": [1] * 100,
            "status": ["new"] * 100,
        }
    )
    counts = np.zeros(100)
    for draw in range(200):
        e = choose_engagements(
            pool, np.random.default_rng(draw), 0.3, date(2024, 12, 1), "top_harm"
        )
        assert e.height == 30 and e["person_id"].is_unique().all()
        for p in e["person_id"]:
            counts[int(p[1:])] += 1
    by_tenth = (counts / 200).reshape(10, 10).mean(axis=1)
    assert (np.diff(by_tenth) >= 0).all()
    assert by_tenth[-1] > 0.95 and by_tenth[-2] > 0.8
    assert by_tenth[:5].mean() < 0.03 and 0.1 < by_tenth[6] < 0.45


def test_an_unknown_selection_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "generate",
            str(tmp_path / "x"),
            "--months",
            "1",
            "--scale",
            "0.1",
            "--engagement-effect",
            "0",
            "--engagement-selection",
            "worst",
        ],
    )
    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(
            "chi: engagement selection must be one of random, top_harm, top_crimes, escalating"
        )
    )
    assert "Traceback" not in result.output
