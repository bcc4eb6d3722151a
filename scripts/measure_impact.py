"""Measure the impact review against known truths: generated extracts, several seeds, each
engagement selection and effect; prints the estimate and interval per scenario.

    python scripts/measure_impact.py --seeds 1,2,3 --months 36 --cache /tmp/impact-cache

Each seed's extract without engagement is generated and scored once, and each scenario
is that extract engaged (scored again only when E > 0: with E = 0 nothing is removed);
extracts and runs are kept under ``--cache`` and reused, so changing the review and
measuring again takes seconds. The table in docs/meetings.md comes from here.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import polars as pl

from chi.generate import GenerateOptions, generate_extract
from chi.generate.engagement import Scored, apply_engagement, scored_extract
from chi.meetings.impact import POWER_Z, SMD_LIMIT, ImpactResult, impact_review
from chi.reading.lists import neighbourhoods
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish

_SCORED: dict[tuple[int, int, float], Scored] = {}


def _plain(cache: Path, seed: int, months: int, scale: float) -> tuple[Path, Path]:
    """The extract of one seed without engagement, and its published run, made once."""
    root = cache / f"s{seed}-m{months}-x{scale}" / "plain"
    extract, runs = root / "extract", root / "runs"
    if not (runs / "latest").exists():
        options = GenerateOptions(
            seed=seed, start="2022-01", months=months, scale=scale, defect_rate=0.0
        )
        generate_extract(extract, options)
        score_and_publish(extract, runs, Policy())
    return extract, runs


def scenario_run(
    cache: Path, seed: int, months: int, scale: float, selection: str, effect: float
) -> tuple[Path, Run]:
    """The extract and run of one scenario, made once into ``cache``: the seed's extract
    without engagement, engaged and thinned by ``apply_engagement`` (what ``chi generate
    --engagement-effect E --engagement-selection S`` does after writing it, so the extract
    is the one that command writes). With E = 0 nothing is removed and the extract is
    byte-identical to the plain one, so the plain run is reused."""
    plain, plain_runs = _plain(cache, seed, months, scale)
    root = cache / f"s{seed}-m{months}-x{scale}" / f"{selection}-e{effect}"
    extract, runs = root / "extract", root / "runs"
    if not (extract / "truth" / "engagements.parquet").exists() or not (
        effect == 0 or (runs / "latest").exists()
    ):
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(plain, extract)
        key = (seed, months, scale)
        if key not in _SCORED:  # the plain extract as the engagement step scores it, once
            _SCORED[key] = scored_extract(plain)
        apply_engagement(extract, seed, effect, 0.3, selection=selection, scored=_SCORED[key])
        if effect != 0:
            score_and_publish(extract, runs, Policy())
    return extract, open_run((plain_runs if effect == 0 else runs) / "latest")


def review(extract: Path, run: Run, reps: int) -> ImpactResult:
    return impact_review(
        pl.read_parquet(run.file("victim_list")),
        pl.read_parquet(run.file("victimisations")),
        pl.read_parquet(extract / "truth" / "engagements.parquet"),
        neighbourhoods().select("neighbourhood_code", "area"),
        run.manifest.months[-1],
        reps=reps,
    )


def tolerance(selection: str, effect: float) -> float:
    """The issue-13 tolerance on the victimisations estimate: ±0.05 for random selection,
    ±0.08 with no effect and ±0.07 with an effect under a meeting's selection."""
    if selection == "random":
        return 0.05
    return 0.08 if effect == 0 else 0.07


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--selections", default="random,top_harm,top_crimes,escalating")
    parser.add_argument("--effects", default="0,0.3")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/impact-cache"))
    args = parser.parse_args()
    print(
        "| selection | E | seed | reviewed | found a comparison | victimisations (95% interval)"
        " | SE | within tolerance | naive | placebo | harm (95% interval) | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for selection in args.selections.split(","):
        for effect in (float(e) for e in args.effects.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                extract, run = scenario_run(
                    args.cache, seed, args.months, args.scale, selection, effect
                )
                r = review(extract, run, args.reps)
                v, h = r.victimisations, r.harm
                se = r.mde_victimisations / POWER_Z if r.mde_victimisations else float("nan")
                tol = tolerance(selection, effect)
                ok = abs(v.relative_effect + effect) <= tol and (effect > 0 or v.covers_zero)
                worst = max(r.balance, key=lambda b: abs(b.smd_after)) if r.balance else None
                why = (
                    f" ({worst.feature} {worst.smd_after:+.2f})"
                    if r.withheld and worst is not None and abs(worst.smd_after) > SMD_LIMIT
                    else ""
                )
                print(
                    f"| {selection} | {effect} | {seed} | {r.engaged:,} | {r.matched_share:.0%} "
                    f"| {v.relative_effect:+.3f} ({v.ci_low:+.3f} to {v.ci_high:+.3f}) "
                    f"| {se:.3f} | {'yes' if ok else 'no'} (±{tol}) | {v.naive_change:+.2f} "
                    f"| {r.placebo_victimisations.relative_effect:+.3f} "
                    f"| {h.relative_effect:+.2f} ({h.ci_low:+.2f} to {h.ci_high:+.2f}) "
                    f"| {'withheld' + why if r.withheld else 'given'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
