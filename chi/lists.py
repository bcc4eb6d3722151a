"""Read a published run's lists for a month and a scope, with display columns.

The scope (the neighbourhoods a user may see, or the whole force) is a parameter of every
query here, applied in the SQL that reads the run's files: code that forgets to filter gets
an error, not everyone's rows. The app, the exports and the command line all read lists
through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from chi.extract import _literal
from chi.reference import neighbourhoods_path
from chi.runs import Run
from chi.score import month_end, parse_month


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
    return f"cast(date_diff('year', {birth}, date {d}) - case when strftime({birth}, '%m-%d') > strftime(date {d}, '%m-%d') then 1 else 0 end as integer)"


VICTIM_DISPLAY = [
    "rank",
    "neighbourhood_rank",
    "neighbourhood_code",
    "neighbourhood_name",
    "person_id",
    "name",
    "age",
    "harm_days",
    "crimes",
    "da_crimes",
    "last_recorded_date",
    "reasons",
    "status",
]


def victim_list(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    """The victim list for ``month`` within ``scope``, ranked, with name, age and place."""
    end = month_end(parse_month(month))
    con = duckdb.connect()
    try:
        nb = neighbourhoods()
        con.register("nb", nb)
        return (
            con.cursor()
            .sql(
                f"""
                select v.rank, v.neighbourhood_rank, v.neighbourhood_code,
                       coalesce(nb.neighbourhood_name, 'unknown') as neighbourhood_name,
                       v.person_id, p.name, {_age_sql("p.birth_date", end)} as age,
                       v.harm_days, v.crimes, v.da_crimes, v.last_recorded_date,
                       v.reasons, v.status
                from read_parquet({_literal(run.file("victim_list").as_posix())}) as v
                left join read_parquet({_literal(run.file("people").as_posix())}) as p
                    using (person_id)
                left join nb using (neighbourhood_code)
                where v.month = $month and {scope.sql_filter("v.neighbourhood_code")}
                order by v.rank
                """,
                params={"month": month},
            )
            .pl()
        )
    finally:
        con.close()


def victim_exits(run: Run, month: str, scope: Scope) -> pl.DataFrame:
    con = duckdb.connect()
    try:
        return (
            con.cursor()
            .sql(
                f"""
                select e.person_id, p.name, e.neighbourhood_code, e.previous_rank,
                       e.harm_days, e.crimes, e.reason
                from read_parquet({_literal(run.file("victim_exits").as_posix())}) as e
                left join read_parquet({_literal(run.file("people").as_posix())}) as p
                    using (person_id)
                where e.month = $month and {scope.sql_filter("e.neighbourhood_code")}
                order by e.previous_rank
                """,
                params={"month": month},
            )
            .pl()
        )
    finally:
        con.close()
