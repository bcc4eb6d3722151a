"""The impact review when meetings choose whom to engage, on three generated extracts
(seeds 1, 2 and 3; 36 months from 2022-01, scale 0.5, no defects): the meeting engages the
listed people with the most crimes, or the highest harm, in their window, so a naive
before/after review and an unmatched comparison both see a reduction that is only
regression to the mean. The review matches each engaged person with listed people who
were not engaged on the whole pre-period path, and must recover the truth.

Scale 0.5 rather than the issue's scale 1, so that three seeds of four scenarios each (and
random selection) fit the suite's time: each seed's extract is generated and scored once,
the E = 0 scenarios reuse that scoring (with no effect nothing is removed, so the extract
is the generator's own) and each E = 0.3 scenario is scored once more.

Tolerances, from the standard errors measured at this size (bootstrap, 400 draws, these
seeds; docs/meetings.md has the figures at scale 1, where the issue's tolerances apply).
On victimisations with no effect they are 0.155, 0.155 and 0.195 for top harm, 0.085,
0.102 and 0.098 for top crimes, 0.097, 0.110 and 0.096 for random selection (with E = 0.3,
0.11-0.14 and 0.06-0.07), so ``SE`` below is 0.17, 0.10 and 0.10: half the extract, about
1.4 times the scale-1 errors. Each seed's estimate must be within ``TOLERANCE_SE`` = 2.5
standard errors of the truth (for an unbiased estimator a miss on a given extract has a
chance of about 1%; the naive before/after, about -0.8, and the unmatched comparison the
issue found, +0.8, miss by far more), and the mean of the three within 2.5 standard errors
of a mean of three (SE / sqrt(3): 0.25 for top harm, 0.14 otherwise), which catches a bias
little more than half the size one seed can. With no effect each 95% interval must cover
zero (the issue's criterion), with E = 0.3 each must cover -0.30, and with no effect no standard
error may exceed 1.4 times ``SE`` (the interval does not silently widen).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from chi.cli import app
from chi.generate import GenerateOptions, generate_extract
from chi.generate.engagement import Scored, apply_engagement, scored_extract
from chi.meetings.impact import POWER_Z, SMD_LIMIT, ImpactResult, impact_review
from chi.reading.lists import neighbourhoods
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish

SEEDS = (1, 2, 3)
SCALE = 0.5
SHARE = 0.3
TOLERANCE_SE = 2.5
SE = {"top_harm": 0.17, "top_crimes": 0.10, "random": 0.10}
"""The bootstrap standard error on victimisations at this size, rounded up (the mean over
the three seeds, with no effect; with E = 0.3 it is smaller)."""
AREAS = neighbourhoods().select("neighbourhood_code", "area")


@dataclass(frozen=True)
class Scenario:
    """One generated extract with engagement (its folder) and chi's scoring of it."""

    extract: Path
    scored: Scored


_PLAIN: dict[int, tuple[Path, Scored]] = {}
_BUILT: dict[tuple[int, str, float], Scenario] = {}


def _plain(factory: pytest.TempPathFactory, seed: int) -> tuple[Path, Scored]:
    """The seed's extract without engagement and its scoring, made once per session."""
    if seed not in _PLAIN:
        extract = factory.mktemp(f"plain-{seed}") / "extract"
        options = GenerateOptions(
            seed=seed, start="2022-01", months=36, scale=SCALE, defect_rate=0.0
        )
        generate_extract(extract, options)
        _PLAIN[seed] = (extract, scored_extract(extract))
    return _PLAIN[seed]


def _scenario(
    factory: pytest.TempPathFactory, seed: int, selection: str, effect: float
) -> Scenario:
    """The extract ``chi generate --engagement-effect E --engagement-selection S`` writes:
    the engagement step only reads the generator's extract, engages and removes (its own
    random stream), so it runs here on a copy of the seed's plain extract, with the plain
    extract's scoring (what the engagement step would compute itself)."""
    key = (seed, selection, effect)
    if key not in _BUILT:
        plain, scored = _plain(factory, seed)
        extract = factory.mktemp(f"{selection}-{effect}-{seed}") / "extract"
        shutil.copytree(plain, extract)
        apply_engagement(extract, seed, effect, SHARE, selection=selection, scored=scored)
        _BUILT[key] = Scenario(extract, scored if effect == 0 else scored_extract(extract))
    return _BUILT[key]


def _review(x: Scenario, reps: int = 400) -> ImpactResult:
    return impact_review(
        x.scored.victim_list,
        x.scored.victimisations,
        pl.read_parquet(x.extract / "truth" / "engagements.parquet"),
        AREAS,
        x.scored.months[-1],
        reps=reps,
    )


_REVIEWS: dict[tuple[int, str, float], ImpactResult] = {}


def _reviewed(
    factory: pytest.TempPathFactory, seed: int, selection: str, effect: float
) -> ImpactResult:
    key = (seed, selection, effect)
    if key not in _REVIEWS:
        _REVIEWS[key] = _review(_scenario(factory, seed, selection, effect))
    return _REVIEWS[key]


def _se(r: ImpactResult) -> float:
    assert r.mde_victimisations is not None
    return r.mde_victimisations / POWER_Z


@pytest.fixture(scope="module")
def crimes0(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return _scenario(tmp_path_factory, 1, "top_crimes", 0.0)


@pytest.fixture(scope="module")
def review_crimes0(tmp_path_factory: pytest.TempPathFactory) -> ImpactResult:
    return _reviewed(tmp_path_factory, 1, "top_crimes", 0.0)


def _percentile_of_engaged(x: Scenario, column: str) -> tuple[float, float]:
    """(mean percentile of the engaged within their area and month's pool of new entries,
    share of the bottom half of the pool that was engaged)."""
    eng = pl.read_parquet(x.extract / "truth" / "engagements.parquet")
    pool = (
        x.scored.victim_list.filter(pl.col("status") == "new")
        .join(AREAS, on="neighbourhood_code")
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


def test_the_meeting_picks_the_most_crimes_but_not_only_them(crimes0: Scenario) -> None:
    eng = pl.read_parquet(crimes0.extract / "truth" / "engagements.parquet")
    assert set(eng["selection"]) == {"top_crimes"} and eng["person_id"].is_unique().all()
    mean_pct, bottom_share = _percentile_of_engaged(crimes0, "crimes")
    assert mean_pct > 0.65, "the engaged are the people with most crimes"
    assert 0 < bottom_share < 0.2, "yet people with few crimes are sometimes engaged too"


def test_the_meeting_picks_the_highest_harm(tmp_path_factory: pytest.TempPathFactory) -> None:
    mean_pct, _ = _percentile_of_engaged(
        _scenario(tmp_path_factory, 1, "top_harm", 0.0), "harm_days"
    )
    assert mean_pct > 0.65


@pytest.mark.parametrize("selection", ["top_crimes", "top_harm"])
@pytest.mark.parametrize("seed", SEEDS)
def test_with_no_effect_the_review_sees_none(
    tmp_path_factory: pytest.TempPathFactory, seed: int, selection: str
) -> None:
    r = _reviewed(tmp_path_factory, seed, selection, 0.0)
    v = r.victimisations
    assert v.naive_change < -0.5, "a before/after review claims a large fall"
    assert v.covers_zero
    assert abs(v.relative_effect) <= TOLERANCE_SE * SE[selection]
    chosen = {
        "top_crimes": "crimes in the listing window",
        "top_harm": "harm in the listing window (log days)",
    }[selection]
    by = next(b for b in r.balance if b.feature == chosen)
    assert by.smd_before > 1, "unmatched, the groups are far apart before"
    assert abs(by.smd_after) < SMD_LIMIT
    assert r.placebo_victimisations.covers_zero
    assert r.cohort == r.engaged + r.unmatched_engaged + r.not_yet_reviewable + r.not_listed
    assert r.not_listed == 0 and 0.5 <= r.matched_share < 1
    assert _se(r) <= 1.4 * SE[selection], "the interval is no wider than measured"
    assert "only a change larger than about" in r.power_text()


@pytest.mark.parametrize("selection", ["top_crimes", "top_harm"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_true_effect_is_recovered(
    tmp_path_factory: pytest.TempPathFactory, seed: int, selection: str
) -> None:
    v = _reviewed(tmp_path_factory, seed, selection, 0.3).victimisations
    assert abs(v.relative_effect + 0.3) <= TOLERANCE_SE * SE[selection]
    assert v.ci_low <= -0.3 <= v.ci_high
    assert v.naive_change < -0.6


@pytest.mark.parametrize("seed", SEEDS)
def test_random_selection_with_no_effect(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    v = _reviewed(tmp_path_factory, seed, "random", 0.0).victimisations
    assert v.covers_zero and abs(v.relative_effect) <= TOLERANCE_SE * SE["random"]


@pytest.mark.parametrize(
    ("selection", "effect"),
    [
        ("top_crimes", 0.0),
        ("top_crimes", 0.3),
        ("top_harm", 0.0),
        ("top_harm", 0.3),
        ("random", 0.0),
    ],
)
def test_over_three_seeds_the_mean_estimate_is_unbiased(
    tmp_path_factory: pytest.TempPathFactory, selection: str, effect: float
) -> None:
    estimates = [
        _reviewed(tmp_path_factory, s, selection, effect).victimisations.relative_effect
        for s in SEEDS
    ]
    bias = float(np.mean(estimates)) + effect
    assert abs(bias) <= TOLERANCE_SE * SE[selection] / math.sqrt(len(SEEDS))


def test_the_command_line_and_json_carry_balance_placebo_and_power(
    tmp_path: Path, crimes0: Scenario, review_crimes0: ImpactResult
) -> None:
    extract = crimes0.extract
    run = open_run(score_and_publish(extract, tmp_path / "runs", Policy()))
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
