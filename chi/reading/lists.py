"""Read a published run's lists for a month and a scope, with display columns.

The scope (the neighbourhoods a user may see, or the whole force) is a parameter of every
query here, applied in the SQL that reads the run's files: code that forgets to filter gets
an error, not everyone's rows. The app, the exports and the command line all read lists
through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from chi.months import add_months, month_end, month_label, parse_month
from chi.offences import OffenceGroup, offence_names, resolve, sql_masked_title
from chi.reference import neighbourhoods_path
from chi.scoring.runs import Run, RunError
from chi.sql import literal as _literal


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

    def sql_filter(self, column: str) -> str:
        if self.force_wide:
            return "true"
        if not self.neighbourhoods:
            return "false"
        codes = ", ".join(_literal(c) for c in sorted(self.neighbourhoods))
        return f"{column} in ({codes})"

    @property
    def key(self) -> str:
        """A stable text form, for cache keys."""
        return "*" if self.force_wide else ",".join(sorted(self.neighbourhoods))


def neighbourhoods() -> pl.DataFrame:
    """neighbourhood_code, neighbourhood_name, district_code, district_name, area."""
    return pl.read_csv(neighbourhoods_path(), infer_schema=False)


def area_scope(area: str) -> Scope:
    nb = neighbourhoods()
    codes = nb.filter(pl.col("area") == area)["neighbourhood_code"].to_list()
    if not codes:
        raise ValueError(f"unknown policing area {area!r} (North or South)")
    return Scope.of(codes, label=f"{area} area")


def neighbourhood_scope(code: str) -> Scope:
    nb = neighbourhoods()
    match = nb.filter(pl.col("neighbourhood_code") == code)
    if match.is_empty() and code != "unknown":
        raise ValueError(f"unknown neighbourhood {code!r}")
    name = match["neighbourhood_name"][0] if not match.is_empty() else "unknown"
    return Scope.of({code}, label=f"{name} ({code})")


def _age_sql(birth: str, on: date) -> str:
    d = _literal(on.isoformat())
    return (
        f"cast(date_diff('year', {birth}, date {d}) - case when strftime({birth}, '%m-%d') "
        f"> strftime(date {d}, '%m-%d') then 1 else 0 end as integer)"
    )


def victim_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """The victim list for ``month`` within ``scope``, ranked, with name, age and place."""
    end = month_end(parse_month(month))
    with run_connection(run) as con:
        return _frame(
            con.cursor().sql(
                f"""
                select v.rank, v.neighbourhood_rank, v.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       v.person_id, p.name, {_age_sql("p.birth_date", end)} as age,
                       v.harm_days, v.crimes, v.da_crimes, v.last_recorded_date,
                       v.reasons, v.status
                from victim_list as v
                left join people as p using (person_id)
                left join nb using (neighbourhood_code)
                where v.month = $month and {scope.sql_filter("v.neighbourhood_code")}
                order by v.rank
                """,
                params={"month": month},
            )
        )


# Scoped reading. Each query runs on a connection that sees only the run's own files (as
# views) and cannot read or write anything else; the scope is rendered into the SQL from
# ``Scope.sql_filter``, and restricted offence detail is masked in the SQL too.

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


@contextmanager
def run_connection(run: Run) -> Iterator[duckdb.DuckDBPyConnection]:
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
                con.sql(f"create view {name} as select * from read_parquet({_literal(path)})")
            except duckdb.IOException:
                raise RunError(
                    f"run {run.run_id} is incomplete: {Path(path).name} is missing"
                ) from None
        sizing = run.file("victim_sizing")
        if sizing.is_file():
            files.append(sizing.as_posix())
            con.sql(
                "create view victim_sizing as select * from "
                f"read_parquet({_literal(sizing.as_posix())})"
            )
        else:  # a run from before list sizing: everyone listed is within the size
            con.sql(
                "create view victim_sizing as select month, person_id, "
                "cast(null as varchar) as specialist_team, neighbourhood_rank as action_rank, "
                "true as within_size from victim_list"
            )
        con.register("nb_frame", neighbourhoods())
        con.sql("create table nb as select * from nb_frame")
        con.unregister("nb_frame")
        con.register("names_frame", _offence_name_frame())
        con.sql("create table offence_names as select * from names_frame")
        con.unregister("names_frame")
        con.sql(f"set allowed_paths = [{', '.join(_literal(p) for p in files)}]")
        con.sql("set enable_external_access = false")
        con.sql("set lock_configuration = true")
        yield con
    finally:
        con.close()


def _frame(relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    frame: pl.DataFrame = relation.pl()
    return frame


def _window_start(run: Run, month: str) -> str:
    w = int(run.manifest["policy"]["window_months"])
    return month_label(add_months(parse_month(month), 1 - w))


def _groups(restricted: Iterable[str]) -> list[OffenceGroup]:
    return resolve(restricted)


@cache
def _offence_name_frame() -> pl.DataFrame:
    names = offence_names()
    return pl.DataFrame(
        {"code": list(names), "name": list(names.values())},
        schema={"code": pl.String, "name": pl.String},
    )


def _offence_title_sql(restricted: Iterable[str], v: str) -> str:
    """The offence a victimisation (alias ``v``) is shown as: the weight set's title of its
    offence key; else the name of its Home Office offence code or class (``offence_names``,
    never a bare ``019/08``); a code that matched nothing as "unrecognised offence code ...";
    else the code as recorded. Restricted groups show their label."""
    title = (
        f"coalesce({v}.offence_title,"
        f" (select n.name from offence_names as n where n.code = upper({v}.offence_code)),"
        f" (select n.name from offence_names as n where n.code = {v}.ho_class),"
        f" case when {v}.basis = 'unmatched' then 'unrecognised offence code '"
        f" || coalesce({v}.offence_code, {v}.ho_class) end)"
    )
    return sql_masked_title(_groups(restricted), title, f"{v}.offence_code", f"{v}.ho_class")


def victim_briefing(
    run: Run, month: str, scope: Scope, restricted: Iterable[str] = ()
) -> pl.DataFrame:
    """The victim list for ``month`` within ``scope`` with each person's latest offence in the
    window; offences in the ``restricted`` groups are shown only by the group's label."""
    end = month_end(parse_month(month))
    title = _offence_title_sql(restricted, "v")
    where = scope.sql_filter("neighbourhood_code")
    with run_connection(run) as con:
        return _frame(
            con.cursor().sql(
                f"""
                with listed as (
                    select * from victim_list where month = $month and {where}
                ),
                latest as (
                    select person_id,
                           arg_max({title}, strftime(recorded_date, '%Y-%m-%d') || '|' || crime_id)
                               as latest_offence
                    from victimisations as v
                    where counted and month between $start and $month
                        and person_id in (select person_id from listed)
                    group by person_id
                )
                select v.rank, v.neighbourhood_rank, v.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       v.person_id, p.name, {_age_sql("p.birth_date", end)} as age,
                       v.harm_days, v.crimes, v.da_crimes, v.last_recorded_date,
                       l.latest_offence, v.reasons, v.status,
                       z.specialist_team, z.action_rank, coalesce(z.within_size, true)
                           as within_size
                from listed as v
                left join people as p using (person_id)
                left join nb using (neighbourhood_code)
                left join latest as l using (person_id)
                left join victim_sizing as z on z.month = v.month and z.person_id = v.person_id
                order by v.rank
                """,
                params={"month": month, "start": _window_start(run, month)},
            )
        )


def exited(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """People on the previous month's list within ``scope`` who are not on ``month``'s."""
    with run_connection(run) as con:
        return _frame(
            con.cursor().sql(
                f"""
                select e.person_id, p.name, e.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       e.previous_rank, e.harm_days, e.crimes, e.reason
                from victim_exits as e
                left join people as p using (person_id)
                left join nb using (neighbourhood_code)
                where e.month = $month and {scope.sql_filter("e.neighbourhood_code")}
                order by e.previous_rank
                """,
                params={"month": month},
            )
        )


def offender_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """The high-harm offender list for ``month`` within ``scope``, with serial-DA flags and
    recency-frequency-gravity scores."""
    end = month_end(parse_month(month))
    with run_connection(run) as con:
        return _frame(
            con.cursor().sql(
                f"""
                select o.rank, o.neighbourhood_rank, o.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       o.person_id, p.name, {_age_sql("p.birth_date", end)} as age,
                       o.harm_days, o.crimes, o.victims_count, o.da_crimes, o.da_victims_36m,
                       o.serial_da, o.rfg_score, o.last_recorded_date, o.reasons, o.status
                from offender_list as o
                left join people as p using (person_id)
                left join nb using (neighbourhood_code)
                where o.month = $month and {scope.sql_filter("o.neighbourhood_code")}
                order by o.rank
                """,
                params={"month": month},
            )
        )


def dyad_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """DA dyads for ``month`` whose victim's neighbourhood is within ``scope``, by harm."""
    with run_connection(run) as con:
        return _frame(
            con.cursor().sql(
                f"""
                select d.rank, d.neighbourhood_rank, d.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       d.offender_id, po.name as offender_name,
                       d.victim_id, pv.name as victim_name,
                       d.relationship, d.harm_days, d.crimes, d.first_recorded_date,
                       d.last_recorded_date, d.latest_dash_risk, d.reasons, d.status
                from dyads as d
                left join people as po on d.offender_id = po.person_id
                left join people as pv on d.victim_id = pv.person_id
                left join nb using (neighbourhood_code)
                where d.month = $month and {scope.sql_filter("d.neighbourhood_code")}
                order by d.rank
                """,
                params={"month": month},
            )
        )


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
        gate = _listed_as(con, params, scope, offenders)
        if not gate:
            return None
        code = str(gate[0][0])
        name, age, nb_name = _identity(con, person_id, code, month)
        return PersonDetail(
            person_id=person_id,
            name=None if name is None else str(name),
            age=None if age is None else int(age),
            neighbourhood_code=code,
            neighbourhood_name=str(nb_name),
            listed_as=tuple(dict.fromkeys(str(g[1]) for g in gate)),
            also_suspect=_also_suspect(con, params),
            victimisations=_victimisations(con, params, _window_start(run, month), restricted),
            monthly=_monthly(con, person_id, month, int(run.manifest["policy"]["window_months"])),
            listings=_listings(con, params),
        )


def _listed_as(
    con: duckdb.DuckDBPyConnection, params: dict[str, str], scope: Scope, offenders: bool
) -> list[tuple[Any, ...]]:
    """(neighbourhood, list) of each list of the month in ``scope`` the person is on, the
    victim list first: empty, and the person view refused, when none."""
    return (
        con.cursor()
        .sql(
            f"""
            select neighbourhood_code, 'victim' as list, 1 as k from victim_list
            where month = $month and person_id = $pid
                and {scope.sql_filter("neighbourhood_code")}
            union all
            select neighbourhood_code, 'offender', 2 from offender_list
            where {"true" if offenders else "false"}
                and month = $month and person_id = $pid
                and {scope.sql_filter("neighbourhood_code")}
            order by k
            """,
            params=params,
        )
        .fetchall()
    )


def _identity(
    con: duckdb.DuckDBPyConnection, person_id: str, code: str, month: str
) -> tuple[Any, Any, Any]:
    """Name, age at the end of ``month`` and the name of neighbourhood ``code``."""
    end = month_end(parse_month(month))
    [(name, age, nb_name)] = (
        con.cursor()
        .sql(
            f"""
            select p.name, {_age_sql("p.birth_date", end)},
                   coalesce((select neighbourhood_name from nb
                             where neighbourhood_code = $code), 'unknown')
            from (select 1) left join people as p on p.person_id = $pid
            """,
            params={"pid": person_id, "code": code},
        )
        .fetchall()
    )
    return name, age, nb_name


def _victimisations(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, str],
    start: str,
    restricted: Iterable[str],
) -> pl.DataFrame:
    """The person's victimisations in the window, latest first (restricted offences named
    by their group only)."""
    title = _offence_title_sql(restricted, "v")
    return _frame(
        con.cursor().sql(
            f"""
            select v.recorded_date, {title} as offence, v.weight as chi_days,
                   v.domestic_abuse,
                   coalesce(nb.neighbourhood_name, v.crime_neighbourhood_code, 'unknown')
                       as neighbourhood_name,
                   v.counted
            from victimisations as v
            left join nb on v.crime_neighbourhood_code = nb.neighbourhood_code
            where v.person_id = $pid and v.month between $start and $month
            order by v.recorded_date desc, v.crime_id desc
            """,
            params={**params, "start": start},
        )
    )


def _monthly(
    con: duckdb.DuckDBPyConnection, person_id: str, month: str, window: int
) -> pl.DataFrame:
    """Harm and crimes recorded in each month of two windows ending with ``month``, and the
    window's harm in the months the person was listed."""
    months = _month_range(month_label(add_months(parse_month(month), 1 - 2 * window)), month)
    return _frame(
        con.cursor().sql(
            f"""
            with months(month) as (values {", ".join(f"({_literal(m)})" for m in months)})
            select m.month,
                   cast(coalesce(sum(v.weight) filter (where v.counted), 0)
                        as decimal(18, 2)) as harm_days,
                   cast(count(v.person_id) filter (where v.counted) as integer) as crimes,
                   any_value(l.harm_days) as window_harm_days
            from months as m
            left join victimisations as v on v.month = m.month and v.person_id = $pid
            left join victim_list as l on l.month = m.month and l.person_id = $pid
            group by m.month
            order by m.month
            """,
            params={"pid": person_id},
        )
    )


def _listings(con: duckdb.DuckDBPyConnection, params: dict[str, str]) -> pl.DataFrame:
    """The person's months on the victim list up to ``month``, latest first."""
    return _frame(
        con.cursor().sql(
            """
            select month, rank, neighbourhood_rank, harm_days, crimes, status, reasons
            from victim_list where person_id = $pid and month <= $month
            order by month desc
            """,
            params=params,
        )
    )


def _also_suspect(con: duckdb.DuckDBPyConnection, params: dict[str, str]) -> bool:
    """Whether the person was ever, up to ``month``, listed or linked as a suspect."""
    [(suspect,)] = (
        con.cursor()
        .sql(
            """
            select exists (select 1 from offender_list where person_id = $pid
                           and month <= $month)
                or exists (select 1 from dyads where offender_id = $pid and month <= $month)
                or exists (select 1 from victim_list where person_id = $pid
                           and month <= $month and list_contains(reasons, 'also_suspect'))
            """,
            params=params,
        )
        .fetchall()
    )
    return bool(suspect)


def _month_range(first: str, last: str) -> list[str]:
    out, m, end = [], parse_month(first), parse_month(last)
    while m <= end:
        out.append(month_label(m))
        m = add_months(m, 1)
    return out
