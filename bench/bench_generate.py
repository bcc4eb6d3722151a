"""Benchmark: the synthetic extract generator.

    python bench/bench_generate.py [--work DIR] [--quick | --national]

Runs ``chi generate`` in a subprocess for 36 months at scale 1 and for 12 months at scale 10
(``--quick``: 12 months at scale 1 only; ``--national``: 36 months at scale 80, England and
Wales, defects 0, as ``bench_score.py``'s ``s80-36m`` case reads it: give ``--work`` to keep
it) and prints, for each, the wall time, the CPU time (user + system), the peak RSS of the
generating process and the rows written. Each run is measured by its own small supervisor
process, so ``getrusage(RUSAGE_CHILDREN)`` sees that run alone. Targets (not tests): 36
months at scale 1 under 60 s on 2 cores; 12 months at scale 10 under 4 GB; the national
extract under 10 GB (issue 15).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = (
    ("36 months, scale 1", ["--start", "2022-01", "--months", "36", "--scale", "1"]),
    ("12 months, scale 10", ["--start", "2024-01", "--months", "12", "--scale", "10"]),
)
QUICK = (("12 months, scale 1", ["--start", "2024-01", "--months", "12", "--scale", "1"]),)
NATIONAL = (
    (
        "36 months, scale 80",
        ["--start", "2022-01", "--months", "36", "--scale", "80", "--defects", "0"],
    ),
)


def supervise(out: str, args: list[str]) -> None:
    """Run one generation as a child and print its wall time and peak RSS as JSON."""
    cmd = [sys.executable, "-m", "chi", "generate", out, "--seed", "1", *args]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = usage.ru_maxrss
    rows = {
        parts[0]: int(parts[1].replace(",", ""))
        for parts in (line.split() for line in done.stdout.splitlines())
        if len(parts) >= 3 and parts[2] in ("rows", "injected")
    }
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mib": peak_kib / 1024, "rows": rows}))


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{mem_kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        ram = "unknown RAM"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder for the extracts (default: a temp dir)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--quick", action="store_true", help="one small run only")
    which.add_argument("--national", action="store_true", help="scale 80 over 36 months")
    parser.add_argument("--supervise", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.supervise:
        supervise(ns.supervise[0], ns.supervise[1:])
        return

    print(_machine())
    print(f"start: load average {os.getloadavg()[0]:.1f}")
    cases = QUICK if ns.quick else NATIONAL if ns.national else CASES
    with tempfile.TemporaryDirectory() as tmp:
        work = ns.work or Path(tmp)
        for label, args in cases:
            out = work / (
                "extract-36m-s80" if ns.national else label.replace(" ", "").replace(",", "_")
            )
            result = subprocess.run(
                [sys.executable, __file__, "--supervise", str(out), *args],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(result.stdout)
            rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
            print(
                f"{label:<22} {r['seconds']:7.1f} s wall  {r['cpu']:7.1f} s CPU  "
                f"{r['peak_mib']:8,.0f} MiB peak  ({rows})"
            )
    print(f"end: load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
