"""Benchmark: validate + score, and the same victim windows in plain pandas.

    python bench/bench_score.py [--work DIR] [--quick]

Generates (once, cached in --work) a 36-month extract at scale 1 and a 12-month extract at
scale 10, then in a fresh subprocess each: ``chi score`` for every complete month (time and
peak RSS), and a straightforward pandas implementation of the victim windows as an analyst
would write it (a loop over months, filter the window, group by person), on the same data,
to report the speed ratio. Prints a table; targets: 36 months at scale 1 under 10 s; 12
months at scale 10 under 60 s and 8 GB.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

PANDAS_WINDOWS = r"""
import sys, time
from pathlib import Path
import pandas as pd
folder = Path(sys.argv[1]); weights = sys.argv[2]
t0 = time.perf_counter()
crimes = pd.read_parquet(folder / "crimes")
victims = pd.read_parquet(folder / "victims")
persons = pd.read_parquet(folder / "persons.parquet")
w = pd.read_csv(weights, dtype=str)
w["weight"] = w["weight"].astype(float)
crimes = crimes[crimes["status"] == "recorded"]
crimes["recorded_date"] = pd.to_datetime(crimes["recorded_date"], errors="coerce")
crimes = crimes.merge(w[["offence_key", "weight"]], left_on="offence_code",
                      right_on="offence_key", how="left")
v = victims.merge(crimes[["crime_id", "recorded_date", "weight", "domestic_abuse"]],
                  on="crime_id").merge(persons[["person_id", "person_type"]], on="person_id")
v = v[v["person_type"] == "individual"]
v["month"] = v["recorded_date"].dt.to_period("M")
months = sorted(v["month"].dropna().unique())[:-1]
rows = 0
for m in months:
    window = v[(v["month"] > m - 12) & (v["month"] <= m)]
    g = window.groupby("person_id").agg(harm=("weight", "sum"), crimes=("crime_id", "count"),
                                        da=("domestic_abuse", "sum"),
                                        last=("recorded_date", "max"))
    listed = g[(g["harm"] >= 365) | (g["crimes"] >= 3)].sort_values(
        ["harm", "crimes", "last"], ascending=False)
    rows += len(listed)
print(f"{time.perf_counter() - t0:.2f} {rows}")
"""


def _child(cmd: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024 / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("bench/.work"))
    ap.add_argument("--quick", action="store_true", help="scale 1 only")
    args = ap.parse_args()
    chi = [sys.executable, "-m", "chi"]
    root = Path(__file__).resolve().parent.parent
    weights = root / "data" / "weights" / "chi_2020.csv"
    cases = [("36 months, scale 1", 36, 1.0)]
    if not args.quick:
        cases.append(("12 months, scale 10", 12, 10.0))
    print(f"machine: {platform.machine()}, {_cpu()}, {_nproc()} cores, {_ram()}")
    print(f"{'case':<22} {'step':<18} {'seconds':>8} {'peak GB':>8}  note")
    for label, months, scale in cases:
        extract = args.work / f"extract-{months}m-s{scale:g}"
        if not extract.exists():
            secs, gb, _ = _child(
                [
                    *chi,
                    "generate",
                    str(extract),
                    "--seed",
                    "1",
                    "--start",
                    "2022-01",
                    "--months",
                    str(months),
                    "--scale",
                    str(scale),
                ]
            )
            print(f"{label:<22} {'generate':<18} {secs:>8.1f} {gb:>8.2f}")
        runs = args.work / "runs"
        # RUSAGE_CHILDREN keeps the largest child so far: run the biggest case last.
        secs, gb, out = _child([*chi, "score", str(extract), "--out", str(runs)])
        listed = next(x for x in out.splitlines() if x.startswith("victim_list")).split()[1]
        print(
            f"{label:<22} {'validate + score':<18} {secs:>8.1f} {gb:>8.2f}  "
            f"{listed} victim-list rows"
        )
        psecs, pgb, pout = _child(
            [sys.executable, "-c", PANDAS_WINDOWS, str(extract), str(weights)]
        )
        _, rows = pout.split()
        print(
            f"{label:<22} {'pandas windows':<18} {psecs:>8.1f} {pgb:>8.2f}  "
            f"{rows} rows; victim windows only, exact weights only; "
            f"chi is {psecs / secs:.1f}x the speed"
        )


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _nproc() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _ram() -> str:
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        return f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return "unknown RAM"


if __name__ == "__main__":
    main()
