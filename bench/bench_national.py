"""Benchmark: ``chi score`` on a national extract, stage by stage, without running out of memory.

    CHI_MEMORY_LIMIT=12GB python bench/bench_national.py EXTRACT [--stop-gb 16] [--min-free-gb 1.5]

Runs what ``chi score EXTRACT`` runs (``score_and_publish``: read, validate, stage, every list
for every complete month, publish, into a temporary runs folder) in a child process and
prints, for each stage (named by the progress label it starts with; ``start`` is the imports;
list statements of an extract small enough to run them side by side report as each
finishes, so there a row is the time from one statement's end to the next's),
its wall time, CPU time (user + system) and peak RSS (sampled every 0.2 s, so a spike
shorter than that may be missed), then
the whole run measured by this supervisor (``getrusage(RUSAGE_CHILDREN)``: the true peak). The
supervisor stops the child if its RSS goes over ``--stop-gb`` or the machine's available
memory falls under ``--min-free-gb`` (others work on it too), so a run that would exhaust a
shared machine's memory ends with the stage it reached instead. DuckDB's share is capped by
``CHI_MEMORY_LIMIT`` (``chi.scoring.prepare``); what is over the cap is Python's (Arrow and
polars copies). Make the extract with ``bench/bench_generate.py --national --work DIR``.
Target (issue 15): scale 80 over 36 months under 16 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

CHILD = r"""
import os, resource, sys, tempfile, threading, time
from pathlib import Path
from chi.scoring.policy import Policy
from chi.scoring.runs import score_and_publish

def rss_gb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0

state = {"label": "start", "peak": 0.0, "t": time.perf_counter(), "cpu": time.process_time()}

def sample():
    while True:
        state["peak"] = max(state["peak"], rss_gb())
        time.sleep(0.2)

def progress(label, fraction):
    now, cpu = time.perf_counter(), time.process_time()
    print(f"stage\t{state['label']}\t{now - state['t']:.1f}\t{cpu - state['cpu']:.1f}\t"
          f"{max(state['peak'], rss_gb()):.2f}", flush=True)
    state.update(label=label, peak=rss_gb(), t=now, cpu=cpu)

threading.Thread(target=sample, daemon=True).start()
with tempfile.TemporaryDirectory() as runs:
    score_and_publish(Path(sys.argv[1]), Path(runs), Policy(), progress=progress, partial=False)
progress("end", 1.0)
"""


def _rss_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) / 1024 / 1024
    return float("inf")


def _relay(lines: IO[str]) -> None:
    for line in lines:
        if not line.startswith("stage\t"):
            continue
        _, name, wall, cpu, gb = line.rstrip("\n").split("\t")
        print(f"{name:<24} {float(wall):8.1f} {float(cpu):8.1f} {float(gb):8.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extract", type=Path)
    ap.add_argument("--stop-gb", type=float, default=16.0, help="stop the child over this RSS")
    ap.add_argument(
        "--min-free-gb", type=float, default=1.5, help="stop the child under this much available"
    )
    args = ap.parse_args()
    cap = os.environ.get("CHI_MEMORY_LIMIT", "(unset: half the machine's memory)")
    print(f"CHI_MEMORY_LIMIT {cap}; start: load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'stage':<24} {'wall s':>8} {'CPU s':>8} {'peak GB':>8}", flush=True)
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(args.extract)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    reader = threading.Thread(target=_relay, args=(child.stdout,), daemon=True)
    reader.start()
    stopped = False
    while child.poll() is None:
        if _rss_gb(child.pid) > args.stop_gb or _available_gb() < args.min_free_gb:
            print(f"stopping at {_rss_gb(child.pid):.2f} GB, {_available_gb():.2f} GB available")
            child.kill()
            stopped = True
        time.sleep(0.5)
    reader.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"{'whole run':<24} {time.perf_counter() - t0:8.1f} "
        f"{usage.ru_utime + usage.ru_stime:8.1f} {usage.ru_maxrss / 1024 / 1024:8.2f}"
        f"{'  STOPPED (memory)' if stopped else ''}"
        f"{'  FAILED: exit ' + str(child.returncode) if child.returncode and not stopped else ''}"
    )
    print(f"end: load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
