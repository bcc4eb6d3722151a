"""How long the analyses of a run take: ``chi profile`` for a year, ``chi backtest``, the DA
profile page's first open, and ``chi --help``; each from the run's staged tables (runs
published now) and from its extract (runs published before the staged tables: the same run
with its ``staged`` manifest entry taken out, which is what those runs read).

    python bench/bench_analyses.py                     # scale 1, 36 months, 3 runs each
    python bench/bench_analyses.py --repeat 1 --no-backtest

Generates a clean extract once (cached in ``bench/.work/``, shared with bench_score.py),
scores it, then times each case ``--repeat`` times in alternating order, each in its own
process under the supervisor of ``bench_score.py`` (wall time, CPU time of the child and
its threads, peak RSS). The page's first open is timed inside its process (reading the run
for the analyses and building the North profile for the last 12 months: what the page does
in a server that has already imported chi). Prints the medians and the ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import ROOT, _generate, _load, _machine, _measure

PAGE = """
import json, sys, time
from chi.analysis.profile import Request, build_profile
from chi.analysis.source import load_run
from chi.reading.lists import area_scope
from chi.scoring.runs import open_run
run = open_run(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
source = load_run(run)
build_profile(source, Request.for_period(sys.argv[2], area_scope("North")))
print(json.dumps({"page_s": time.perf_counter() - t0, "page_cpu": time.process_time() - c0}))
"""


def _legacy(run: Path, work: Path) -> Path:
    """The run as published before the staged tables: no ``staged`` entry, no files."""
    copy = work / f"{run.name}-legacy"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest.pop("staged")["tables"]:
        del manifest["outputs"][name]
        (copy / f"{name}.parquet").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return copy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-backtest", action="store_true")
    ap.add_argument(
        "--before", type=Path, help="An earlier chi checkout, timed on the same run from there"
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    extract = args.work / f"extract-{args.months}m-s{args.scale:g}"
    _generate(extract, args.months, args.scale)
    runs = args.work / "analyses-runs"
    shutil.rmtree(runs, ignore_errors=True)
    py = sys.executable
    done = subprocess.run(
        [py, "-m", "chi", "score", str(extract), "--out", str(runs)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    staged = Path(done.stdout.strip().splitlines()[-1])
    legacy = _legacy(staged, args.work)
    months = json.loads((staged / "manifest.json").read_text(encoding="utf-8"))["months"]
    period = f"{months[-12]}:{months[-1]}"
    out = args.work / "analyses-out.json"
    cases: dict[str, list[str]] = {"chi --help": [py, "-m", "chi", "--help"]}
    where: dict[str, Path | None] = {}
    variants: list[tuple[str, Path, Path | None]] = [
        ("staged", staged, None),
        ("extract", legacy, None),
    ]
    if args.before:
        variants.append(("before", staged, args.before.resolve()))
    for label, run, cwd in variants:
        names = [f"profile ({label})", f"page first open ({label})", f"backtest ({label})"]
        cases[names[0]] = [
            py, "-m", "chi", "profile", str(run), "--period", period, "--json", str(out),
        ]  # fmt: skip
        cases[names[1]] = [py, "-c", PAGE, str(run), period]
        if not args.no_backtest:
            cases[names[2]] = [py, "-m", "chi", "backtest", str(run), "--json", str(out)]
        where.update(dict.fromkeys(names, cwd))
    if args.before:
        cases["chi --help (before)"] = [py, "-m", "chi", "--help"]
        where["chi --help (before)"] = args.before.resolve()
    print(_machine())
    print(f"extract {extract.name}; profile period {period}; {args.repeat} run(s) each")
    print(_load())
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for i in range(args.repeat):
        order = list(cases) if i % 2 == 0 else list(reversed(cases))
        for name in order:
            results[name].append(_measure(cases[name], cwd=where.get(name)))
    print(_load())
    med: dict[str, dict[str, float]] = {}
    print(f"{'case':<28} {'wall s':>8} {'CPU s':>8} {'peak GB':>8}  in-process")
    for name, rows in results.items():
        m = {k: statistics.median(r[k] for r in rows) for k in ("seconds", "cpu", "gb")}
        inner = ""
        if name.startswith("page"):
            page = [json.loads(r["out"][0]) for r in rows]  # type: ignore[arg-type]
            m["page_s"] = statistics.median(p["page_s"] for p in page)
            m["page_cpu"] = statistics.median(p["page_cpu"] for p in page)
            inner = f"{m['page_s']:.2f} s wall, {m['page_cpu']:.2f} s CPU"
        med[name] = m
        print(f"{name:<28} {m['seconds']:>8.2f} {m['cpu']:>8.2f} {m['gb']:>8.2f}  {inner}")
    for other in ("extract", "before"):
        for what in ("chi --help", "profile", "backtest", "page first open"):
            a, b = med.get(f"{what} (staged)", med.get(what)), med.get(f"{what} ({other})")
            if not a or not b:
                continue
            wall, cpu = ("page_s", "page_cpu") if what.startswith("page") else ("seconds", "cpu")
            print(
                f"{what}: {other} / now {b[wall] / a[wall]:.2f}x wall, {b[cpu] / a[cpu]:.2f}x CPU"
            )


if __name__ == "__main__":
    main()
