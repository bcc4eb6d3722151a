"""How long the DA profile takes to open: reading the run for the analyses (its staged
tables; the extract for a run from before them: what ``CHI_PREWARM=1`` does in the
background when the server starts) and building the profile for one period.

    python bench/bench_profile_open.py demo          # a folder `chi demo --no-serve` prepared

Prints the two figures; the first open of the app's profile page costs both without the
prewarm and only the second with it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from chi.analysis.profile import Request, build_profile
from chi.analysis.source import load_run
from chi.months import add_months, month_label, parse_month
from chi.reading.lists import area_scope
from chi.scoring.runs import open_run


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    run = open_run(folder / "runs")
    last = run.manifest["months"][-1]
    first = month_label(add_months(parse_month(last), -11))
    started = time.perf_counter()
    source = load_run(run)
    read = time.perf_counter() - started
    started = time.perf_counter()
    build_profile(source, Request.for_period(f"{first}:{last}", area_scope("North")))
    built = time.perf_counter() - started
    print(f"read the run for the analyses (prewarmed at server start): {read:.1f} s")
    print(f"build the North profile {first} to {last} (the page's first open): {built:.1f} s")


if __name__ == "__main__":
    main()
