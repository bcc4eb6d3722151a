"""Read a published run's lists for a month and a scope, with display columns.

The scope (the neighbourhoods a user may see, or the whole force) is a parameter of every
query here, applied in the SQL that reads the run's files: code that forgets to filter gets
an error, not everyone's rows. The app, the exports and the command line all read lists
through this module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from chi import sql
from chi.months import add_months, month_end, month_label, parse_month
from chi.offences import group_params, offence_names, resolve
from chi.reference import geography
from chi.scoring.runs import Run, RunError


@dataclass(frozen=True)
class Scope:
    """What a user may see: ``neighbourhoods`` codes, or everything when ``force_wide``."""

    neighbourhoods: frozenset[str] = frozenset()
    force_wide: bool = False
    label: str = ""

    @classmethod
    def force(cls) -> Scope:
        return cls(force_wide=True, label="force-wide")

    @classmethod
    def of(cls, codes: set[str] | frozenset[str] | list[str], label: str = "") -> Scope:
        return cls(neighbourhoods=frozenset(codes), label=label or ", ".join(sorted(codes)))

    @property
    def params(self) -> dict[str, bool | list[str]]:
        """The scope as the bound parameters of a query (``sql/read/*.sql``):
        ``$all_neighbourhoods``, or the codes in ``$neighbourhoods``; nothing when neither."""
        return {
            "all_neighbourhoods": self.force_wide,
            "neighbourhoods": sorted(self.neighbourhoods),
        }

    @property
    def key(self) -> str:
        """A stable text form, for cache keys."""
        return "*" if self.force_wide else ",".join(sorted(self.neighbourhoods))


NEIGHBOURHOOD_COLUMNS = (
    "neighbourhood_code",
    "neighbourhood_name",
    "district_code",
    "district_name",
    "area",
)


def neighbourhoods() -> pl.DataFrame:
    """neighbourhood_code, neighbourhood_name, district_code, district_name, area: the
    force's geography (:func:`chi.reference.geography`)."""
    return pl.DataFrame(
        [
            (n.code, n.name, n.district_code, n.district_name, n.area)
            for n in geography().neighbourhoods
        ],
        schema=dict.fromkeys(NEIGHBOURHOOD_COLUMNS, pl.String),
        orient="row",
    )


def area_scope(area: str) -> Scope:
    """Every neighbourhood of a policing area of the force's geography (named in any case)."""
    geo = geography()
    named = geo.find_area(area)
    if named is None:
        raise ValueError(f"unknown policing area {area!r} (the areas: {', '.join(geo.areas)})")
    return Scope.of(list(geo.in_area(named)), label=f"{named} area")


def neighbourhood_scope(code: str) -> Scope:
    nb = neighbourhoods()
    match = nb.filter(pl.col("neighbourhood_code") == code)
    if match.is_empty() and code != "unknown":
        raise ValueError(f"unknown neighbourhood {code!r}")
    name = match["neighbourhood_name"][0] if not match.is_empty() else "unknown"
    return Scope.of({code}, label=f"{name} ({code})")


def _read(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pl.DataFrame:
    frame: pl.DataFrame = sql.run(con, f"read/{name}", params).pl()
    return frame


def victim_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """The victim list for ``month`` within ``scope``, ranked, with name, age and place."""
    end = month_end(parse_month(month))
    with run_connection(run) as con:
        return _read(con, "victim_list", {"month": month, "month_end": end, **scope.params})


# Scoped reading. Each query runs on a connection that sees only the run's own files (as
# views) and cannot read or write anything else; the scope is a bound parameter of every
# query (``Scope.params``), and restricted offence detail is masked in the SQL too, the
# restricted groups bound as a list (``chi.offences.group_params``).

RUN_VIEWS = (
    "victim_list",
    "victim_exits",
    "offender_list",
    "dyads",
    "people",
    "victimisations",
)


def scope_from_key(key: str) -> Scope:
    """The scope a ``Scope.key`` stands for (the cache key is the scope, not a label)."""
    if key == "*":
        return Scope.force()
    return Scope.of([c for c in key.split(",") if c])


def narrow(scope: Scope, codes: Iterable[str] | None) -> Scope:
    """The part of ``scope`` within ``codes`` (None: all of it). Never wider than ``scope``."""
    if codes is None:
        return scope
    wanted = set(codes)
    if scope.force_wide:
        return Scope.of(wanted)
    return Scope.of(scope.neighbourhoods & wanted)


def _open_connection(run: Run) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection over one run, locked down once its views exist.

    After the views are made, file access is limited to the run's own list files, external
    access (other files, extensions, network) is switched off and the configuration is
    locked, so no query text, however built, can reach other data.
    """
    con = duckdb.connect(config={"threads": 2})
    try:
        files = [run.file(name).as_posix() for name in RUN_VIEWS]
        for name, path in zip(RUN_VIEWS, files, strict=True):
            try:
                sql.parquet_view(con, name, path)
            except duckdb.IOException:
                raise RunError(
                    f"run {run.run_id} is incomplete: {Path(path).name} is missing"
                ) from None
        sizing = run.file("victim_sizing")
        if sizing.is_file():
            files.append(sizing.as_posix())
            sql.parquet_view(con, "victim_sizing", sizing.as_posix())
        else:  # a run from before list sizing: everyone listed is within the size
            sql.create_view(con, "victim_sizing", "read/sizing_fallback")
        sql.table_from_arrow(con, "nb", neighbourhoods().to_arrow())
        sql.table_from_arrow(con, "offence_names", _offence_name_frame().to_arrow())
        for macro in _MACROS:
            sql.run(con, macro)
        sql.run(con, "read/allow_paths", {"paths": files})
        sql.run(con, "read/no_external_access")
        sql.run(con, "read/lock_configuration")
    except BaseException:
        con.close()
        raise
    return con


class RunReader:
    """One locked-down read connection over a run, shared by every thread that reads it
    (the app's sessions): each query gets its own cursor, and :meth:`close` takes effect
    once no query is using the connection any more."""

    def __init__(self, run: Run) -> None:
        self.run_id = run.run_id
        self.path = run.path
        self._con = _open_connection(run)
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self.closed = False

    def acquire(self) -> duckdb.DuckDBPyConnection | None:
        """A cursor of the shared connection for one query (give it back with
        :meth:`release`), or None once the connection is closing."""
        with self._lock:
            if self._closing:
                return None
            self._users += 1
            return self._con.cursor()

    def release(self, cur: duckdb.DuckDBPyConnection) -> None:
        cur.close()
        with self._lock:
            self._users -= 1
            self._close_if_idle()

    def close(self) -> None:
        """Close now if no query is running, else as soon as the last one ends."""
        with self._lock:
            self._closing = True
            self._close_if_idle()

    def _close_if_idle(self) -> None:
        if self._closing and self._users == 0 and not self.closed:
            self._con.close()
            self.closed = True


_READERS: dict[Path, RunReader] = {}
_READERS_LOCK = threading.Lock()


def share_run(run: Run) -> RunReader:
    """From now on every query of ``run`` (in this process) reads through one shared
    connection instead of opening its own; returns it (opened once per run)."""
    with _READERS_LOCK:
        reader = _READERS.get(run.path)
        if reader is not None and reader.run_id == run.run_id:
            return reader
        if reader is not None:  # another run in the same folder (cannot happen: ids differ)
            reader.close()
        reader = _READERS[run.path] = RunReader(run)
        return reader


def unshare_runs(keep: Iterable[str] = ()) -> list[str]:
    """Stop sharing the connections of every run not in ``keep`` (run ids) and close them
    once their queries end; returns the run ids closed."""
    wanted = set(keep)
    with _READERS_LOCK:
        gone = [path for path, r in _READERS.items() if r.run_id not in wanted]
        readers = [_READERS.pop(path) for path in gone]
    for reader in readers:
        reader.close()
    return [r.run_id for r in readers]


def shared_runs() -> list[str]:
    """The run ids whose connection is shared now."""
    with _READERS_LOCK:
        return sorted(r.run_id for r in _READERS.values())


@contextmanager
def run_connection(run: Run) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked-down connection over one run (see :func:`_open_connection`): a cursor of the
    run's shared connection when it is shared (:func:`share_run`, the app), else a
    connection of its own, closed on exit (the command line, exports)."""
    with _READERS_LOCK:
        reader = _READERS.get(run.path)
    cur = reader.acquire() if reader is not None and reader.run_id == run.run_id else None
    if cur is not None and reader is not None:
        try:
            yield cur
        finally:
            reader.release(cur)
        return
    con = _open_connection(run)
    try:
        yield con
    finally:
        con.close()


_MACROS = (
    "staging/age_macro",
    "read/offence_title_macro",
    "reference/class_number_macro",
    "reference/subclass_macro",
    "reference/in_group_macro",
    "read/offence_shown_macro",
)


def _window_start(run: Run, month: str) -> str:
    w = int(run.manifest.policy["window_months"])
    return month_label(add_months(parse_month(month), 1 - w))


def _restricted(restricted: Iterable[str]) -> list[dict[str, Any]]:
    """The ``restricted`` offence groups as the ``$restricted`` parameter."""
    return group_params(resolve(restricted))


@cache
def _offence_name_frame() -> pl.DataFrame:
    names = offence_names()
    return pl.DataFrame(
        {"code": list(names), "name": list(names.values())},
        schema={"code": pl.String, "name": pl.String},
    )


def victim_briefing(
    run: Run, month: str, scope: Scope, restricted: Iterable[str] = ()
) -> pl.DataFrame:
    """The victim list for ``month`` within ``scope`` with each person's latest offence in the
    window; offences in the ``restricted`` groups are shown only by the group's label."""
    params = {
        "month": month,
        "month_end": month_end(parse_month(month)),
        "start": _window_start(run, month),
        "restricted": _restricted(restricted),
        **scope.params,
    }
    with run_connection(run) as con:
        return _read(con, "victim_briefing", params)


def exited(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """People on the previous month's list within ``scope`` who are not on ``month``'s."""
    with run_connection(run) as con:
        return _read(con, "exited", {"month": month, **scope.params})


def offender_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """The high-harm offender list for ``month`` within ``scope``, with serial-DA flags and
    recency-frequency-gravity scores."""
    end = month_end(parse_month(month))
    with run_connection(run) as con:
        return _read(con, "offender_list", {"month": month, "month_end": end, **scope.params})


def dyad_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """DA dyads for ``month`` whose victim's neighbourhood is within ``scope``, by harm."""
    with run_connection(run) as con:
        return _read(con, "dyad_list", {"month": month, **scope.params})


@dataclass(frozen=True)
class PersonDetail:
    """What the person view shows about one listed person, as of one list month."""

    person_id: str
    name: str | None
    age: int | None
    neighbourhood_code: str
    neighbourhood_name: str
    listed_as: tuple[str, ...]
    also_suspect: bool
    victimisations: pl.DataFrame
    """recorded_date, offence, chi_days, domestic_abuse, neighbourhood_name, counted."""
    monthly: pl.DataFrame
    """month, harm_days and crimes recorded that month, window_harm_days when listed; over
    two windows ending with the month (the current window and the one before)."""
    listings: pl.DataFrame
    """month, rank, neighbourhood_rank, harm_days, crimes, status, reasons (victim list)."""


def person_detail(
    run: Run,
    person_id: str,
    month: str,
    scope: Scope,
    restricted: Iterable[str] = (),
    offenders: bool = False,
) -> PersonDetail | None:
    """One person's victimisations, monthly harm and list history, as of ``month``.

    Refuses (returns None) unless the person is on ``month``'s victim list (or, with
    ``offenders``, its offender list) in a neighbourhood within ``scope``: the person view is
    a way into a list, never a search of everyone.
    """
    params = {"pid": person_id, "month": month}
    with run_connection(run) as con:
        gate = _listed_in_scope(con, params, scope, offenders)
        if not gate:
            return None
        code = str(gate[0][0])
        name, age, nb_name = _header(con, person_id, code, month)
        victimisations = _read(
            con,
            "person_victimisations",
            {**params, "start": _window_start(run, month), "restricted": _restricted(restricted)},
        )
        monthly = _read(
            con, "person_monthly", {"pid": person_id, "months": _two_windows(run, month)}
        )
        listings = _read(con, "person_listings", params)
        [(suspect,)] = sql.run(con, "read/person_suspect", params).fetchall()
    return PersonDetail(
        person_id=person_id,
        name=None if name is None else str(name),
        age=None if age is None else int(age),
        neighbourhood_code=code,
        neighbourhood_name=str(nb_name),
        listed_as=tuple(dict.fromkeys(str(g[1]) for g in gate)),
        also_suspect=bool(suspect),
        victimisations=victimisations,
        monthly=monthly,
        listings=listings,
    )


def _listed_in_scope(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any], scope: Scope, offenders: bool
) -> list[tuple[Any, ...]]:
    """The person's places on the month's lists (neighbourhood code, list) in a neighbourhood
    within ``scope``: the victim list, and with ``offenders`` the offender list too. Empty
    when there is none: then the person view shows nothing."""
    return sql.run(
        con, "read/person_gate", {**params, "offenders": offenders, **scope.params}
    ).fetchall()


def _header(
    con: duckdb.DuckDBPyConnection, person_id: str, code: str, month: str
) -> tuple[Any, Any, Any]:
    """The person's display name, age at the month's end and the name of neighbourhood ``code``."""
    end = month_end(parse_month(month))
    [row] = sql.run(
        con, "read/person_header", {"pid": person_id, "code": code, "month_end": end}
    ).fetchall()
    return row[0], row[1], row[2]


def _two_windows(run: Run, month: str) -> list[str]:
    """The months of the two list windows ending with ``month`` (the current window and the
    one before it), oldest first: the span of the person view's monthly harm."""
    w = int(run.manifest.policy["window_months"])
    return _month_range(month_label(add_months(parse_month(month), 1 - 2 * w)), month)


def _month_range(first: str, last: str) -> list[str]:
    out, m, end = [], parse_month(first), parse_month(last)
    while m <= end:
        out.append(month_label(m))
        m = add_months(m, 1)
    return out
