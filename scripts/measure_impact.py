"""Measure the impact review against known truths: generated extracts, several seeds, each
engagement selection and effect; prints the estimate and interval per scenario.

    python scripts/measure_impact.py --seeds 1,2,3 --months 36 --cache /tmp/impact-cache

Each scenario's extract and run are kept under ``--cache`` and reused, so changing the
review and measuring again takes seconds. The table in docs/meetings.md comes from here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from chi.generate import GenerateOptions, generate_extract
from chi.meetings.impact import ImpactResult, impact_review
from chi.reading.lists import neighbourhoods
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish


def scenario_run(
    cache: Path, seed: int, months: int, scale: float, selection: str, effect: float
) -> tuple[Path, Run]:
    """The extract and run of one scenario, generated and scored once into ``cache``."""
    root = cache / f"s{seed}-m{months}-x{scale}-{selection}-e{effect}"
    extract, runs = root / "extract", root / "runs"
    if not (runs / "latest").exists():
        options = GenerateOptions(
            seed=seed,
            start="2022-01",
            months=months,
            scale=scale,
            defect_rate=0.0,
            engagement_effect=effect,
            engagement_selection=selection,
        )
        generate_extract(extract, options)
        score_and_publish(extract, runs, Policy())
    return extract, open_run(runs / "latest")


def review(extract: Path, run: Run, reps: int) -> ImpactResult:
    return impact_review(
        pl.read_parquet(run.file("victim_list")),
        pl.read_parquet(run.file("victimisations")),
        pl.read_parquet(extract / "truth" / "engagements.parquet"),
        neighbourhoods().select("neighbourhood_code", "area"),
        run.manifest["months"][-1],
        reps=reps,
    )


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
        "selection   E    seed  engaged matched%  victimisations est [95%]     naive   "
        "placebo  harm est [95%]        verdict"
    )
    for selection in args.selections.split(","):
        for effect in (float(e) for e in args.effects.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                extract, run = scenario_run(
                    args.cache, seed, args.months, args.scale, selection, effect
                )
                r = review(extract, run, args.reps)
                v, h = r.victimisations, r.harm
                worst = max((abs(b.smd_after), b.feature) for b in r.balance) if r.balance else 0
                print(
                    f"{selection:<11} {effect:<4} {seed:>4} {r.engaged:>8,} "
                    f"{r.matched_share:>7.0%}  {v.relative_effect:+.3f} "
                    f"[{v.ci_low:+.3f}, {v.ci_high:+.3f}]  {v.naive_change:+.3f}  "
                    f"{r.placebo_victimisations.relative_effect:+.3f}  "
                    f"{h.relative_effect:+.3f} [{h.ci_low:+.3f}, {h.ci_high:+.3f}]  "
                    f"{'withheld' if r.withheld else 'given'}"
                    f"{'  ' + str(worst) if r.withheld else ''}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
