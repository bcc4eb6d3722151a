"""Measure what the class-level rule costs when a force records only Home Office classes.

Takes an extract with fine offence keys (``chi generate`` makes one), writes a copy in which
every crime carries only the Home Office subclass the CHI sheet gives its key (as most forces
record), and scores the list month given under three readings: the keys (the truth), the
classes at their lowest weight (``class_rule = "lowest"``, the contract's rule) and the
classes at their typical offence (``"typical"``). Prints total harm in the month's window and
the listed people of each reading against the keys.

    python scripts/measure_class_rule.py EXTRACT --month 2024-12

The figures in docs/scoring.md §3 come from this script on ``chi generate OUT --seed 7 --start
2023-01 --months 24`` (the test suite's generated extract). The generator's own mix of offences
within a class is a judgement (``chi/generate/offences.py``), so the figures say how the rules
behave on that mix, not what a force will see.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl

from chi.reference import load_weight_set
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.score import score


def classes_only(extract: Path, out: Path) -> None:
    shutil.copytree(extract, out, ignore=shutil.ignore_patterns("truth"))
    single, many = out / "crimes.parquet", out / "crimes"
    files = [single] if single.exists() else sorted(many.rglob("*.parquet"))
    crimes = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
    if many.is_dir():
        shutil.rmtree(many)
    sheet = pl.read_csv(load_weight_set("chi2020").path, infer_schema=False)
    class_of = dict(zip(sheet["offence_key"], sheet["ho_class"], strict=True))
    # the class the CHI sheet gives the key (what a force records); a key not in the sheet is
    # left as it is (unmatched under every reading)
    classes = [
        class_of.get(k or "", h)
        for k, h in zip(crimes["offence_code"], crimes["ho_class"], strict=True)
    ]
    keys = [None if (k or "") in class_of else k for k in crimes["offence_code"]]
    crimes.with_columns(
        pl.Series("ho_class", classes, dtype=pl.String),
        pl.Series("offence_code", keys, dtype=pl.String),
    ).write_parquet(single)


def reading(extract: Path, month: str, rule: str) -> tuple[Decimal, set[str]]:
    with prepare(extract, policy=Policy(class_rule=rule)) as p:
        lists = score(p, [month])
        [(harm,)] = (
            p.con.cursor()
            .sql(
                "select coalesce(sum(weight), 0) from victimisations v, list_months m "
                "where m.month = $month and v.counted "
                "and v.recorded_date between m.window_start and m.month_end",
                params={"month": month},
            )
            .fetchall()
        )
    return Decimal(harm), set(lists.victim_list.column("person_id").to_pylist())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("--month", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        only = Path(tmp) / "classes"
        classes_only(args.extract, only)
        truth_harm, truth = reading(args.extract, args.month, "lowest")
        print(f"keys:              harm {truth_harm:>14,.1f} days, {len(truth):>6,} listed")
        for rule in ("lowest", "typical"):
            harm, listed = reading(only, args.month, rule)
            share = 100 * (harm - truth_harm) / truth_harm
            print(
                f"classes, {rule:<8}: harm {harm:>14,.1f} days ({share:+.1f}%), "
                f"{len(listed):>6,} listed, {len(truth - listed):>5,} of the keys' list missing, "
                f"{len(listed - truth):>5,} not on it"
            )


if __name__ == "__main__":
    main()
