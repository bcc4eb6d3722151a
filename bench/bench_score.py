"""Benchmark: validate + score, and the same victim windows in plain pandas.

    python bench/bench_score.py [--work DIR] [--quick]

Generates (once, cached in --work) a clean (``--defects 0``, so that the plain pandas
version can read it at all) 36-month extract at scale 1 and a 12-month extract at scale 10,
then in a fresh subprocess each: ``chi score`` for every complete month (time and
peak RSS), and a straightforward pandas implementation of the victim windows as an analyst
would write it (a loop over months, filter the window, group by person), on the same data,
to report the speed ratio. Prints a table; targets: 36 months at scale 1 under 10 s; 12
months at scale 10 under 60 s and 8 GB.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

PANDAS_WINDOWS = r"""
import resource, sys, time
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
months = sorted(v["month"].dropna().unique())
rows = 0
for m in months:
    window = v[(v["month"] > m - 12) & (v["month"] <= m)]
    g = window.groupby("person_id").agg(harm=("weight", "sum"), crimes=("crime_id", "count"),
                                        da=("domestic_abuse", "sum"),
                                        last=("recorded_date", "max"))
    listed = g[(g["harm"] >= 365) | (g["crimes"] >= 3)].sort_values(
        ["harm", "crimes", "last"], ascending=False)
    rows += len(listed)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(f"windows {time.perf_counter() - t0:.2f} {peak:.2f} {rows}")
"""

CHI_STAGES = r"""
import resource, sys, tempfile, time
from pathlib import Path
from chi import sql
from chi.pipeline import prepare
from chi.policy import Policy
from chi.runs import publish
from chi.score import complete_months, score, _create_list_months
folder = Path(sys.argv[1])
t = time.perf_counter()
def lap(name, extra=""):
    global t
    now = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"{name} {now - t:.2f} {peak:.2f} {extra}")
    t = now
with prepare(folder, policy=Policy()) as p:
    lap("read+validate+stage")
    months = complete_months(p)
    _create_list_months(p, months)
    sql.create_table(p.con, "person_months", "lists/person_months")
    sql.create_table(p.con, "victim_list_all", "lists/victim_list",
                     {"min_harm": p.policy.min_harm, "min_crimes": p.policy.min_crimes})
    [(n,)] = p.con.cursor().sql("select count(*) from victim_list_all where in_range").fetchall()
    lap("victim-windows", n)
    lists = score(p, months)
    lap("all-lists")
    with tempfile.TemporaryDirectory() as d:
        publish(p, lists, Path(d))
        lap("publish")
"""


def _child(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:4])} ...\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("bench/.work"))
    ap.add_argument("--quick", action="store_true", help="scale 1 only")
    args = ap.parse_args()
    py = sys.executable
    root = Path(__file__).resolve().parent.parent
    weights = root / "data" / "weights" / "chi_2020.csv"
    cases = [("36 months, scale 1", 36, 1.0)]
    if not args.quick:
        cases.append(("12 months, scale 10", 12, 10.0))
    print(f"machine: {platform.machine()}, {_cpu()}, {_nproc()} cores, {_ram()}")
    print(f"{'case':<20} {'step':<34} {'seconds':>8} {'peak GB':>8}  note")
    for label, months, scale in cases:
        extract = args.work / f"extract-{months}m-s{scale:g}"
        if not extract.exists():
            secs, _ = _child(
                [
                    py,
                    "-m",
                    "chi",
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
                    "--defects",
                    "0",
                ]
            )
            print(f"{label:<20} {'generate':<34} {secs:>8.1f}")
        wall, out = _child(
            [py, "-m", "chi", "score", str(extract), "--out", str(args.work / "runs")]
        )
        print(f"{label:<20} {'chi score (whole command)':<34} {wall:>8.1f}")
        _, out = _child([py, "-c", CHI_STAGES, str(extract)])
        stages = {}
        for line in out.splitlines():
            name, secs_s, gb_s, *extra = line.split()
            stages[name] = float(secs_s)
            note = f"{int(extra[0]):,} victim-list rows" if extra else ""
            print(
                f"{label:<20} {'  chi ' + name:<34} {float(secs_s):>8.1f} {float(gb_s):>8.2f}  "
                f"{note}"
            )
        _, pout = _child([py, "-c", PANDAS_WINDOWS, str(extract), str(weights)])
        _, psecs_s, pgb_s, prows = pout.split()
        psecs = float(psecs_s)
        ours = stages["read+validate+stage"] + stages["victim-windows"]
        print(
            f"{label:<20} {'pandas: read + victim windows':<34} {psecs:>8.1f} "
            f"{float(pgb_s):>8.2f}  {int(prows):,} rows (exact weights only, no validation)"
        )
        print(
            f"{label:<20} {'ratio pandas / chi (same work)':<34} {psecs / ours:>8.2f}  "
            f"chi read+validate+stage+victim windows = {ours:.1f} s"
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
