"""Benchmark: where ``prepare`` (read, validate, stage) spends its CPU, statement by statement.

    python bench/bench_prepare.py EXTRACT [--repeat N] [--before DIR]

Runs ``chi.scoring.prepare.prepare`` on EXTRACT in a fresh process per run (``--repeat``
times, alternating with the chi tree in DIR when ``--before`` is given, each run after one
warm-up prepare in the same process) and prints, per step, the median CPU seconds (user +
system of the process and its threads, ``getrusage``) and wall seconds: locating the files,
registering the views, each ``sql/`` statement that creates a table or view or inserts into
one, and the rest. The machine may be shared: compare CPU seconds, read the load average
printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

steps = {}

def timed(label, f):
    def g(*args, **kwargs):
        c, w = cpu(), time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            s = steps.setdefault(label(*args), [0.0, 0.0])
            s[0] += cpu() - c
            s[1] += time.perf_counter() - w
    return g

c0 = cpu()
import chi.scoring.prepare as prepare
import chi.sql as sql
imports = cpu() - c0
prepare.locate = timed(lambda *a: "locate", prepare.locate)
prepare.register = timed(lambda *a: "register (views)", prepare.register)
sql.create_table = timed(lambda con, table, name, *a: name, sql.create_table)
sql.create_view = timed(lambda con, view, name, *a: name + " (view)", sql.create_view)
sql.insert_check = timed(lambda con, check, *a: check, sql.insert_check)
sql.run = timed(lambda con, name, *a: name, sql.run)
extract = Path(sys.argv[1])
with prepare.prepare(extract):
    pass
steps.clear()
c, w = cpu(), time.perf_counter()
with prepare.prepare(extract):
    total = [cpu() - c, time.perf_counter() - w]
steps["total"] = total
print("STEPS " + json.dumps({"steps": steps, "imports": imports}))
"""


def _run(tree: Path, extract: Path) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(extract)],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("STEPS "))
    body = json.loads(line.removeprefix("STEPS "))
    steps: dict[str, list[float]] = body["steps"]
    steps["imports (chi.scoring.prepare)"] = [body["imports"], 0.0]
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--before", type=Path, help="an earlier chi checkout, timed alternately")
    args = ap.parse_args()
    trees = {"now": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    runs: dict[str, list[dict[str, list[float]]]] = {k: [] for k in trees}
    loads = []
    for _ in range(args.repeat):
        for name, tree in trees.items():
            loads.append(os.getloadavg()[0])
            runs[name].append(_run(tree, args.extract))
    print(f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")
    print("median of", args.repeat, "runs: CPU s (wall s)")
    labels = list(dict.fromkeys(k for rs in runs.values() for r in rs for k in r))
    labels.sort(key=lambda k: (k == "total", k.startswith("imports")))
    print(f"{'step':45s}" + "".join(f"{name:>20s}" for name in trees))
    for label in labels:
        cells = []
        for name in trees:
            got = [r[label] for r in runs[name] if label in r]
            if not got:
                cells.append(f"{'-':>20s}")
                continue
            c = statistics.median(x[0] for x in got)
            w = statistics.median(x[1] for x in got)
            cells.append(f"{c:>11.3f} ({w:5.2f})")
        print(f"{label:45s}" + "".join(cells))


if __name__ == "__main__":
    main()
