"""Reruns started from the app: scoring in a background thread, one at a time per runs folder.

An analyst's rerun can take minutes, longer than a page should block, so it runs in a
thread of the server process and reports progress into a ``Job`` that any session can read.
``chi.scoring.runs.score_and_publish`` writes the new run under a hidden name and switches
``RUNS/latest`` only when it is complete; the new run is a draft (analysts only) until an
analyst makes it current, so everyone keeps reading the current run until
then. Only one rerun per runs folder may be under way; a second request is refused rather
than queued. The job records its start, its publication or its failure in the audit log;
a failure is recorded by the kind of error only (messages can quote extract values).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish
from chi.state.store import Store


@dataclass
class Job:
    username: str
    runs_dir: Path
    extract: Path
    policy: Policy
    months: str | None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%H:%M:%S"))
    step: str = "starting"
    fraction: float = 0.0
    state: str = "running"
    run_id: str | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def report(self, step: str, fraction: float) -> None:
        self.step = step
        self.fraction = max(self.fraction, min(1.0, max(0.0, fraction)))


class JobBusyError(Exception):
    """A rerun is already under way for this runs folder."""


class Jobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Path, Job] = {}

    def current(self, runs_dir: Path) -> Job | None:
        with self._lock:
            return self._jobs.get(Path(runs_dir).resolve())

    def start(
        self,
        store: Store,
        username: str,
        runs_dir: Path,
        extract: Path,
        policy: Policy,
        months: str | None,
    ) -> Job:
        key = Path(runs_dir).resolve()
        with self._lock:
            existing = self._jobs.get(key)
            if existing is not None and existing.running:
                raise JobBusyError(
                    f"a rerun started by {existing.username} at {existing.started_at} "
                    "is still under way"
                )
            job = Job(username, key, Path(extract), policy, months)
            self._jobs[key] = job
        store.record(username, "rerun_started", detail=_policy_text(policy, months))
        thread = threading.Thread(target=self._run, args=(job, store), daemon=True)
        thread.start()
        return job

    def _run(self, job: Job, store: Store) -> None:
        try:
            path = score_and_publish(
                job.extract, job.runs_dir, job.policy, job.months, job.report, partial=False
            )
            job.run_id = open_run(path).run_id
            store.record(job.username, "rerun_published", run_id=job.run_id)
            job.report("published", 1.0)
            job.state = "done"  # last: a reader who sees the state sees the audit entry
        except Exception as exc:
            # Only the kind of error: a message can quote extract values (names, dates of
            # birth), and this is shown in the browser.
            job.error = type(exc).__name__
            store.record(job.username, "rerun_failed", detail=type(exc).__name__)
            job.state = "failed"


def _policy_text(policy: Policy, months: str | None) -> str:
    return (
        f"weights {policy.weights}; window {policy.window_months}; "
        f"min_harm {policy.min_harm}; min_crimes {policy.min_crimes}; "
        f"months {months or 'all complete'}"
    )


JOBS = Jobs()
"""The server process's reruns (shared by every session)."""
