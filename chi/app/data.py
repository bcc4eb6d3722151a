"""Cached, scoped reads of a run for the pages.

Every cached function takes the run and the scope's key as arguments and rebuilds the scope
from that key inside, so the cache key is the scope itself: a frame cached for one scope
can never be served for another, and no page filters an unscoped frame. Runs are immutable
once published, so entries stay valid for the life of the run.

The current run's queries, from every session and thread, share one locked-down DuckDB
connection (``chi.reading.lists.share_run``; a cursor per query) instead of opening one per call;
when another run becomes current, the old run's connection is closed as soon as its last
query ends (:func:`use_run`). Other runs an analyst looks at (drafts, earlier runs) open a
connection per call, as the command line does.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import streamlit as st

from chi.forecast.history import History, run_history
from chi.forecast.saved import DEFAULT_LABEL, default_model_dir, forecast_scores
from chi.reading.lists import (
    PersonDetail,
    Scope,
    dyad_list,
    exited,
    offender_list,
    person_detail,
    scope_from_key,
    share_run,
    unshare_runs,
    victim_briefing,
)
from chi.scoring.diff import diff_runs
from chi.scoring.runs import Run, current_run_id, latest_run_id, open_run

_CACHE = {"show_spinner": False, "max_entries": 512, "ttl": timedelta(hours=12)}


def _run(run_path: str) -> Run:
    return open_run(Path(run_path))


def use_run(run: Run) -> None:
    """Share the connection of ``run`` if it is its folder's current run; close the shared
    connections of runs that are no longer current."""
    runs_dir = run.path.parent
    current = current_run_id(runs_dir) or latest_run_id(runs_dir)
    unshare_runs(keep=[current] if current else [])
    if run.run_id == current:
        share_run(run)


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _victims(
    run_path: str, run_id: str, month: str, scope_key: str, restricted: tuple[str, ...]
) -> pl.DataFrame:
    return victim_briefing(_run(run_path), month, scope_from_key(scope_key), restricted)


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _exits(run_path: str, run_id: str, month: str, scope_key: str) -> pl.DataFrame:
    return exited(_run(run_path), month, scope_from_key(scope_key))


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _offenders(run_path: str, run_id: str, month: str, scope_key: str) -> pl.DataFrame:
    return offender_list(_run(run_path), month, scope_from_key(scope_key))


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _dyads(run_path: str, run_id: str, month: str, scope_key: str) -> pl.DataFrame:
    return dyad_list(_run(run_path), month, scope_from_key(scope_key))


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _person(
    run_path: str,
    run_id: str,
    person_id: str,
    month: str,
    scope_key: str,
    restricted: tuple[str, ...],
    offenders: bool,
) -> PersonDetail | None:
    return person_detail(
        _run(run_path), person_id, month, scope_from_key(scope_key), restricted, offenders
    )


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _diff(path_a: str, path_b: str, month: str) -> pl.DataFrame:
    return diff_runs(_run(path_a), _run(path_b), month)


@st.cache_resource(show_spinner=False, max_entries=4)
def _history(run_path: str, run_id: str) -> History:
    return run_history(_run(run_path))


@st.cache_data(**_CACHE)  # type: ignore[call-overload, untyped-decorator]
def _forecast(
    run_path: str, run_id: str, month: str, scope_key: str, people: tuple[str, ...]
) -> pl.DataFrame:
    run = _run(run_path)
    return forecast_scores(
        run,
        month,
        scope_from_key(scope_key),
        history=_history(run_path, run_id),
        person_ids=list(people),
    )


def has_forecast_model(run: Run) -> bool:
    return (default_model_dir(run) / DEFAULT_LABEL).is_dir()


def forecast(run: Run, month: str, scope: Scope, people: list[str]) -> pl.DataFrame:
    """The saved model's score and top reasons for ``people`` (within ``scope``)."""
    use_run(run)
    frame: pl.DataFrame = _forecast(
        str(run.path), run.run_id, month, scope.key, tuple(sorted(people))
    )
    return frame


def victims(run: Run, month: str, scope: Scope, restricted: tuple[str, ...]) -> pl.DataFrame:
    use_run(run)
    frame: pl.DataFrame = _victims(str(run.path), run.run_id, month, scope.key, restricted)
    return frame


def exits(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    use_run(run)
    frame: pl.DataFrame = _exits(str(run.path), run.run_id, month, scope.key)
    return frame


def offenders(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    use_run(run)
    frame: pl.DataFrame = _offenders(str(run.path), run.run_id, month, scope.key)
    return frame


def dyads(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    use_run(run)
    frame: pl.DataFrame = _dyads(str(run.path), run.run_id, month, scope.key)
    return frame


def person(
    run: Run,
    person_id: str,
    month: str,
    scope: Scope,
    restricted: tuple[str, ...],
    offenders: bool,
) -> PersonDetail | None:
    use_run(run)
    detail: PersonDetail | None = _person(
        str(run.path), run.run_id, person_id, month, scope.key, restricted, offenders
    )
    return detail


def diff(a: Run, b: Run, month: str) -> pl.DataFrame:
    frame: pl.DataFrame = _diff(str(a.path), str(b.path), month)
    return frame
