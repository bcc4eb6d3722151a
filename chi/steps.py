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
failure is raised. Progress is reported from the calling thread as steps finish (with one
worker, as each starts). With one worker the steps run in the calling thread, one after the
other, so that an interrupt (Ctrl-C) stops the running statement at once; with more, an
interrupt waits for the running statements to end (DuckDB's interrupt of a connection
does not reach its cursors). The lists of a large extract, whose statements are long, take
the one-worker path (``chi.scoring.score.SIDE_BY_SIDE_BELOW``); validation runs two tables
at a time at every size (a national extract takes about 20 s a pair).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from chi.progress import Progress, silent


@dataclass(frozen=True)
class Step:
    """A unit of work: ``run`` once every step named in ``needs`` has finished; ``label`` is
    what progress shows when it has (the name if none)."""

    name: str
    run: Callable[[], None]
    needs: tuple[str, ...] = field(default=())
    label: str | None = None


def run_steps(
    steps: Sequence[Step],
    workers: int = 2,
    progress: Progress = silent,
    start: float = 0.0,
    end: float = 1.0,
) -> None:
    """Run ``steps`` on at most ``workers`` threads, each after the steps it needs;
    ``progress`` moves from ``start`` to ``end`` with the label of each step as it finishes
    (with one worker: as it starts, so that a bar names what is running)."""
    workers = max(1, workers)
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"steps named more than once: {names}")
    unknown = {n for s in steps for n in s.needs} - set(names)
    if unknown:
        raise ValueError(f"steps need steps that are not given: {sorted(unknown)}")
    order = _in_order(steps)
    if workers == 1:
        # In the calling thread, in order: an interrupt (Ctrl-C) reaches the running statement.
        for i, step in enumerate(order):  # progress names the step that is starting
            progress(step.label or step.name, start + (end - start) * i / len(steps))
            step.run()
        return
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
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                done.add(step.name)
                progress(step.label or step.name, start + (end - start) * len(done) / len(steps))
    if failure is not None:
        raise failure


def _in_order(steps: Sequence[Step]) -> list[Step]:
    """``steps`` in the order one worker runs them: repeatedly the first given whose needs
    have run. Refuses needs that go round in a circle, before anything runs."""
    waiting, done, order = list(steps), set[str](), []
    while waiting:
        ready = next((s for s in waiting if done.issuperset(s.needs)), None)
        if ready is None:
            raise ValueError(f"steps need each other: {[s.name for s in waiting]}")
        waiting.remove(ready)
        done.add(ready.name)
        order.append(ready)
    return order
