"""Run independent SQL statements side by side: a few steps with the steps they need.

Much of DuckDB's work on one statement runs on one core: a Parquet row group is read by one
thread, and a window partitioned by person or a final sort has a single-threaded merge. Two
independent statements on two cursors of the same database fill the second core while the
first is in such a stretch (the victim list and the offender list share nothing until they
are published). Each step runs on a worker thread with its own cursor (``chi.sql`` takes a
fresh cursor of the one connection per statement); results are tables of the database, so
they are the same whatever the order in which the steps ran.

A step starts once every step it needs has finished, in the order given among the steps
that are ready. After a failure no further step starts; the running ones finish and the first
failure is raised. Progress is reported from the calling thread as steps finish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from chi.progress import Progress, silent


@dataclass(frozen=True)
class Step:
    """A unit of work: ``run`` once every step named in ``needs`` has finished."""

    name: str
    run: Callable[[], None]
    needs: tuple[str, ...] = field(default=())


def run_steps(
    steps: Sequence[Step],
    workers: int = 2,
    progress: Progress = silent,
    start: float = 0.0,
    end: float = 1.0,
) -> None:
    """Run ``steps`` on at most ``workers`` threads, each after the steps it needs;
    ``progress`` moves from ``start`` to ``end`` as steps finish (the step's name)."""
    workers = max(1, workers)
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"steps named more than once: {names}")
    unknown = {n for s in steps for n in s.needs} - set(names)
    if unknown:
        raise ValueError(f"steps need steps that are not given: {sorted(unknown)}")
    waiting = list(steps)
    done: set[str] = set()
    running: dict[Future[None], Step] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chi-step") as pool:
        while waiting or running:
            if failure is None:  # never more submitted than run: nothing queues in the pool
                for step in [s for s in waiting if done.issuperset(s.needs)]:
                    if len(running) >= workers:
                        break
                    waiting.remove(step)
                    running[pool.submit(step.run)] = step
            if not running:
                if failure is None:  # nothing can start: the needs go round in a circle
                    raise ValueError(f"steps need each other: {[s.name for s in waiting]}")
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                done.add(step.name)
                progress(step.name, start + (end - start) * len(done) / len(steps))
    if failure is not None:
        raise failure
