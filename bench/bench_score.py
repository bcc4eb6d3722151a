"""Benchmark: ``chi score`` against the floor, a pandas script and polars, in the same run.

    python bench/bench_score.py [--work DIR] [--repeat N] [--cases a,b,...] [--stages]

Generates (once, cached in --work) clean extracts (``--defects 0``, so that the plain pandas
script can read them) and, for each case, times in alternating order, ``--repeat`` times:

- ``chi score``: the whole command (read, validate, stage, every list for every complete
  month, publish), as a user runs it;
- the floor: one DuckDB statement (``bench/floor.sql``) that reads the same Parquet, joins
  victims -> crimes -> weights and computes every person's 12-month windowed harm and count
  for every month: the least work that gives the victim list's numbers;
- pandas: the analyst's script (read the Parquet, exact-key weights, a loop over months that
  filters the window and groups by person, thresholds);
- polars (lazy): the same as the pandas script, person-months spread over the 12 list
  months they count towards, grouped.

Each run is its own process, measured by a small supervisor (wall time, peak RSS of the child
from ``getrusage(RUSAGE_CHILDREN)``); the figure is the median of the runs. Prints wall and
CPU seconds (user + system: on a shared machine wall time includes waiting for a core, CPU
time much less so), the ratios chi / floor and pandas / chi, and the linearity ratio (scale
10 over 36 months against 12 months). Targets (issue 15): chi at most 5x the floor and at
least 2x faster than pandas; three times the months at most 3.3x the time and memory; scale
80 over 36 months under 16 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "data" / "weights" / "chi_2020.csv"

CASES = {
    "s1-36m": ("scale 1, 36 months", 36, 1.0),
    "s10-12m": ("scale 10, 12 months", 12, 10.0),
    "s10-36m": ("scale 10, 36 months", 36, 10.0),
    "s80-12m": ("scale 80, 12 months", 12, 80.0),
    "s80-36m": ("scale 80, 36 months", 36, 80.0),
}
DEFAULT_CASES = "s1-36m,s10-12m,s10-36m"

FLOOR = r"""
import sys, duckdb
from pathlib import Path
folder, weights, sql = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]).read_text()
con = duckdb.connect()
con.sql("set enable_progress_bar = false")
def files(name):
    one = folder / f"{name}.parquet"
    return one.as_posix() if one.exists() else (folder / name / "**" / "*.parquet").as_posix()
[(n, harm, crimes)] = con.sql(sql, params={"crimes": files("crimes"), "victims": files("victims"),
                                           "weights": weights}).fetchall()
print(f"{n} windows")
"""

PANDAS = r"""
import sys
from pathlib import Path
import pandas as pd
folder = Path(sys.argv[1]); weights = sys.argv[2]
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
print(f"{rows} listed")
"""

POLARS = r"""
import sys
from pathlib import Path
import polars as pl
folder = Path(sys.argv[1]); weights = sys.argv[2]
crimes = pl.scan_parquet(folder / "crimes" / "**" / "*.parquet")
victims = pl.scan_parquet(folder / "victims" / "**" / "*.parquet")
persons = pl.scan_parquet(folder / "persons.parquet")
w = pl.scan_csv(weights, infer_schema=False).select(
    "offence_key", pl.col("weight").cast(pl.Float64))
v = (
    victims.join(crimes.filter(pl.col("status") == "recorded"), on="crime_id")
    .join(persons.filter(pl.col("person_type") == "individual").select("person_id"),
          on="person_id")
    .join(w, left_on="offence_code", right_on="offence_key", how="left")
    .with_columns(pl.col("recorded_date").cast(pl.Date).dt.truncate("1mo").alias("month"))
)
pm = v.group_by("person_id", "month").agg(
    pl.col("weight").sum().alias("harm"), pl.len().alias("crimes"),
    pl.col("domestic_abuse").sum().alias("da"), pl.col("recorded_date").max().alias("last"))
spread = pm.with_columns(pl.int_ranges(0, 12).alias("k")).explode("k").with_columns(
    pl.col("month").dt.offset_by(pl.format("{}mo", pl.col("k"))).alias("list_month"))
last = v.select(pl.col("month").max()).collect().item()
listed = (
    spread.filter(pl.col("list_month") <= last)
    .group_by("list_month", "person_id")
    .agg(pl.col("harm").sum(), pl.col("crimes").sum(), pl.col("da").sum(), pl.col("last").max())
    .filter((pl.col("harm") >= 365) | (pl.col("crimes") >= 3))
    .sort(["list_month", "harm", "crimes", "last"], descending=[False, True, True, True])
    .collect()
)
print(f"{listed.height} listed")
"""

CHI_STAGES = r"""
import resource, sys, tempfile, time
from pathlib import Path
from chi.scoring.prepare import prepare
from chi.scoring.policy import Policy
from chi.scoring.runs import publish
from chi.scoring.score import complete_months, score
folder = Path(sys.argv[1])
t = time.perf_counter()
def lap(name):
    global t
    now = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"{name} {now - t:.2f} {peak:.2f}", flush=True)
    t = now
with prepare(folder, policy=Policy()) as p:
    lap("read+validate+stage")
    lists = score(p, complete_months(p))
    lap("lists")
    with tempfile.TemporaryDirectory() as d:
        publish(p, lists, Path(d))
        lap("publish")
"""


def supervise(cmd: list[str]) -> None:
    """Run one measured child and print its wall time and peak RSS as JSON."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:5])} ...\n{done.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout.strip().splitlines()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu": usage.ru_utime + usage.ru_stime,
                "gb": usage.ru_maxrss / 1024 / 1024,
                "out": out[-1:],
            }
        )
    )


def _measure(cmd: list[str], cwd: Path | None = None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--supervise", *cmd],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _commands(extract: Path, runs: Path) -> dict[str, list[str]]:
    py, w = sys.executable, str(WEIGHTS)
    return {
        "chi": [py, "-m", "chi", "score", str(extract), "--out", str(runs)],
        "floor": [py, "-c", FLOOR, str(extract), w, str(ROOT / "bench" / "floor.sql")],
        "pandas": [py, "-c", PANDAS, str(extract), w],
        "polars": [py, "-c", POLARS, str(extract), w],
    }


def _generate(extract: Path, months: int, scale: float) -> None:
    if extract.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "chi", "generate", str(extract), "--seed", "1",
         "--start", "2022-01", "--months", str(months), "--scale", f"{scale:g}",
         "--defects", "0"],
        check=True, capture_output=True,
    )  # fmt: skip


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min)"


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    ram = "unknown RAM"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        ram = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError):
        pass
    import duckdb
    import polars

    return (
        f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), {ram}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}, polars {polars.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and case (median)")
    ap.add_argument("--cases", default=DEFAULT_CASES, help=f"of {', '.join(CASES)}")
    ap.add_argument("--tools", default="chi,floor,pandas,polars")
    ap.add_argument("--stages", action="store_true", help="also chi's stages, one run")
    ap.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier chi (e.g. `git worktree add /tmp/old <commit>`): "
        "timed as tool 'before', run from that folder so that its chi and sql/ are used",
    )
    ap.add_argument("--supervise", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.supervise:
        supervise(args.supervise)
        return
    tools = args.tools.split(",")
    if args.before:
        tools.insert(1, "before")
    print(_machine())
    print(f"start: {_load()}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for key in args.cases.split(","):
        label, months, scale = CASES[key]
        extract = args.work / f"extract-{months}m-s{scale:g}"
        _generate(extract, months, scale)
        runs = Path(tempfile.mkdtemp(prefix="chi-bench-runs-"))
        cmds = _commands(extract, runs)
        cmds["before"] = cmds["chi"]
        samples: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
        for i in range(args.repeat):
            order = tools if i % 2 == 0 else tools[::-1]  # alternate, so load drifts even out
            for tool in order:
                cwd = args.before if tool == "before" else None
                samples[tool].append(_measure(cmds[tool], cwd))
        shutil.rmtree(runs, ignore_errors=True)
        med = {
            t: {
                "seconds": statistics.median(s["seconds"] for s in samples[t]),
                "gb": statistics.median(s["gb"] for s in samples[t]),
                "cpu": statistics.median(s["cpu"] for s in samples[t]),
                "min": min(s["seconds"] for s in samples[t]),
                "max": max(s["seconds"] for s in samples[t]),
            }
            for t in tools
        }
        results[key] = med
        print(f"{label}  ({_load()})")
        for t, m in med.items():
            print(
                f"  {t:<7} {m['seconds']:7.2f} s wall ({m['min']:.2f}-{m['max']:.2f})  "
                f"{m['cpu']:7.2f} s CPU  {m['gb']:5.2f} GB peak"
            )
        for a, b in (
            ("chi", "floor"),
            ("pandas", "chi"),
            ("chi", "polars"),
            ("before", "chi"),
            ("before", "floor"),
        ):
            if a in med and b in med:
                print(
                    f"  {a} / {b}: {med[a]['seconds'] / med[b]['seconds']:.2f}x wall, "
                    f"{med[a]['cpu'] / med[b]['cpu']:.2f}x CPU"
                )
        if args.stages:
            done = subprocess.run(
                [sys.executable, "-c", CHI_STAGES, str(extract)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            for line in done.stdout.splitlines():
                name, secs, gb = line.split()
                print(f"{'':<22}   chi {name:<22} {float(secs):6.2f} s  {float(gb):5.2f} GB peak")
    for short, long in (("s10-12m", "s10-36m"), ("s80-12m", "s80-36m")):
        if short in results and long in results:
            for t in results[short]:
                a, b = results[short][t], results[long][t]
                print(
                    f"linearity {t:<7} {CASES[long][0]} / {CASES[short][0]}: "
                    f"wall {b['seconds'] / a['seconds']:.2f}x, CPU {b['cpu'] / a['cpu']:.2f}x, "
                    f"memory {b['gb'] / a['gb']:.2f}x"
                )
    print(f"end: {_load()}")


if __name__ == "__main__":
    main()
