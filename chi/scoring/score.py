"""Score a prepared extract: the monthly victim, offender and DA dyad lists.

Runs the ``sql/lists`` stage for every list month at once: a ``list_months`` table holds each
month's window (and the month before the first, so that the first month's new/continuing
status is right), and each list is one query over it. Outputs are Arrow tables ordered by
month and rank, with exact decimal harm, ready to publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from chi import sql
from chi.months import add_months, month_end, month_label, parse_month
from chi.offences import in_group, resolve
from chi.progress import Progress, silent
from chi.sql import Step, run_steps

if TYPE_CHECKING:  # imported where an extract is prepared: not for reading a run
    from chi.scoring.prepare import Prepared


def complete_months(p: Prepared) -> list[str]:
    """Every complete month of the extract: from the first recorded crime's month to the
    last month that ends on or before the as-of date."""
    [(first,)] = sql.run(p.con, "lists/first_recorded").fetchall()
    if first is None:
        return []
    start = date(first.year, first.month, 1)
    last = date(p.as_of.year, p.as_of.month, 1)
    if month_end(last) > p.as_of:
        last = add_months(last, -1)
    out = []
    while start <= last:
        out.append(month_label(start))
        start = add_months(start, 1)
    return out


def first_month(p: Prepared) -> str | None:
    """The extract's first month: the calendar month of its earliest recorded crime."""
    [(first,)] = sql.run(p.con, "lists/first_recorded").fetchall()
    return None if first is None else month_label(date(first.year, first.month, 1))


def partial_months(p: Prepared, months: list[str]) -> list[str]:
    """The ``months`` whose window starts before the extract's first month: their lists hold
    only part of a window, so they grow as the window fills and are not comparable."""
    first = first_month(p)
    if first is None:
        return []
    start = parse_month(first)
    w = p.policy.window_months
    return [m for m in months if add_months(parse_month(m), 1 - w) < start]


def _small_table(rows: list[dict[str, object]], schema: dict[str, type[pl.DataType]]) -> pa.Table:
    """A few rows built in Python as an Arrow table, through polars: pyarrow building arrays
    from Python values imports pandas when it is installed (0.5-0.7 s of CPU for nothing)."""
    return pl.DataFrame(rows, schema=schema, orient="row").to_arrow()


def _create_list_months(p: Prepared, months: list[str]) -> None:
    wanted = {parse_month(m) for m in months}
    padded = sorted(wanted | {add_months(m, -1) for m in wanted})
    rows = [
        {
            "month": month_label(m),
            "month_start": m,
            "month_end": month_end(m),
            "window_start": add_months(m, 1 - p.policy.window_months),
            "previous_month": month_label(add_months(m, -1)),
            "in_range": m in wanted,
        }
        for m in padded
    ]
    table = _small_table(
        rows,
        {
            "month": pl.String,
            "month_start": pl.Date,
            "month_end": pl.Date,
            "window_start": pl.Date,
            "previous_month": pl.String,
            "in_range": pl.Boolean,
        },
    )
    sql.table_from_arrow(p.con, "list_months", table)


@dataclass(frozen=True)
class Lists:
    """The lists as Arrow tables (what :func:`score` returns)."""

    months: list[str]
    victim_list: pa.Table
    victim_exits: pa.Table
    offender_list: pa.Table
    dyads: pa.Table
    victim_sizing: pa.Table

    def reader(self, name: str) -> pa.RecordBatchReader:
        """One list's rows (``name`` one of :data:`LIST_NAMES`)."""
        table: pa.Table = getattr(self, name)
        return table.to_reader()


@dataclass
class ListTables:
    """The lists as tables of the prepared extract's connection (what :func:`score_tables`
    leaves), each read as its query streams: publishing a national run does not hold every
    list in Python at once. The ``*_all`` tables are written in (month, rank) order and a
    filter of one table keeps insertion order (``preserve_insertion_order``), so the
    published lists are not sorted again."""

    p: Prepared
    months: list[str]

    def reader(self, name: str) -> pa.RecordBatchReader:
        """One list's rows (``sql/publish/<name>.sql``), streaming."""
        return sql.run(self.p.con, f"publish/{name}").to_arrow_reader()

    def fetch(self) -> Lists:
        """Every list as an Arrow table."""
        tables = {name: self.reader(name).read_all() for name in LIST_NAMES}
        return Lists(months=list(self.months), **tables)


LIST_WORKERS = 2
"""List statements run side by side (:func:`chi.sql.run_steps`) on an extract of fewer than
:data:`SIDE_BY_SIDE_BELOW` accepted victim rows: two fill the second core while one is in a
single-threaded stretch."""

SIDE_BY_SIDE_BELOW = 1_000_000
"""Accepted victim rows from which the list statements run one at a time. On a larger extract
each statement keeps both cores busy by itself, so a second one beside it only holds its
tables in memory at the same time (bench/README.md, 2026-12-03: the lists of 209k and 695k
victim rows 11-29% faster side by side; of 2.1M no faster and 0.5-0.9 GB more at the peak;
of 16.7M slower, against the memory cap)."""


SIDE_BY_SIDE_BYTES = 4 * 2**10
"""DuckDB memory per accepted victim row that the lists need to run side by side: under a
smaller cap (``CHI_MEMORY_LIMIT``) they run one at a time, as a large extract's do. Two
statements at once each hold what they cannot spill; on the tests' generated extract (138k
victim rows) the lists side by side ran out of memory under a cap of 0.87 KB a row every time
and under 1.09 KB a row now and then, where one at a time finished under 0.87 KB a row
(bench/README.md, 2026-12-04): four KiB a row leaves a margin."""


def list_workers(p: Prepared) -> int:
    """How many list statements run at once for ``p``: two below :data:`SIDE_BY_SIDE_BELOW`
    accepted victim rows when DuckDB's cap allows (:data:`SIDE_BY_SIDE_BYTES`), else one."""
    rows = p.counts["victims"].accepted
    if rows >= SIDE_BY_SIDE_BELOW:
        return 1
    if p.memory_cap is not None and p.memory_cap < SIDE_BY_SIDE_BYTES * rows:
        return 1
    return LIST_WORKERS


LIST_LABELS = {
    "victim_list_all": "victim list",
    "victim_exits": "victim exits",
    "offender_list_all": "offender list",
    "dyads_all": "DA dyads",
}
"""What progress names a list statement by (the other statements are "list windows")."""

LIST_NAMES = ("victim_list", "victim_exits", "offender_list", "dyads", "victim_sizing")
"""The lists, each a file of the run (``<name>.parquet``)."""


def score(p: Prepared, months: list[str], progress: Progress = silent) -> Lists:
    """Compute every list for ``months`` (``YYYY-MM`` labels) under ``p.policy``."""
    return score_tables(p, months, progress).fetch()


def score_tables(p: Prepared, months: list[str], progress: Progress = silent) -> ListTables:
    """Compute every list for ``months`` (``YYYY-MM`` labels) under ``p.policy``, as tables of
    ``p``'s connection."""
    if not months:
        raise ValueError("no list months: the extract has no complete month of crimes")
    pol = p.policy
    _create_list_months(p, months)
    window: dict[str, object] = {"window_months": pol.window_months}
    victims = {"min_harm": pol.min_harm, "min_crimes": pol.min_crimes, **window}
    offenders = {
        "min_harm": pol.offender_min_harm,
        "min_crimes": pol.offender_min_crimes,
        "rfg_recency": pol.rfg_recency,
        "rfg_frequency": pol.rfg_frequency,
        "rfg_gravity": pol.rfg_gravity,
        **window,
    }

    def table(name: str, query: str, params: dict[str, object] | None = None, *needs: str) -> Step:
        label = LIST_LABELS.get(name, "list windows")
        return Step(name, lambda: sql.create_table(p.con, name, query, params), needs, label)

    # The offender list is the longest chain: its steps are offered first.
    run_steps(
        [
            table("offender_crimes", "lists/offender_crimes"),
            table("da_links", "lists/da_links"),
            table("person_months", "lists/person_months"),
            table("da_serial", "lists/da_serial", None, "da_links"),
            table("offender_victims", "lists/offender_victims", window, "offender_crimes"),
            table(
                "offender_list_all",
                "lists/offender_list",
                offenders,
                "offender_crimes",
                "offender_victims",
                "da_serial",
            ),
            table("victim_list_all", "lists/victim_list", victims, "person_months"),
            table("victim_exits", "lists/victim_exits", None, "victim_list_all"),
            Step(
                "victim_sizing",
                lambda: _create_victim_sizing(p),
                ("victim_list_all",),
                "list sizing",
            ),
            table(
                "dyads_all",
                "lists/dyads",
                {"min_harm": pol.min_harm, **window},
                "da_links",
                "da_serial",
            ),
        ],
        workers=list_workers(p),
        progress=progress,
        start=0.6,
        end=0.9,
        interrupt=lambda: sql.interrupt(p.con),
    )
    for name in _INTERMEDIATE:
        sql.drop_table(p.con, name)
    return ListTables(p, list(months))


# Tables only the lists are built from: dropped once the lists are out, to free memory (the
# *_all tables stay: publishing reads them).
_INTERMEDIATE = ("person_months", "offender_crimes", "da_links", "da_serial", "offender_victims")


def _create_specialist_offences(p: Prepared) -> None:
    """``specialist_offences``: each (offence_code, ho_class) of the victimisations that is in
    one of the policy's specialist groups, with the first such group's team and position."""
    pol = p.policy
    groups = [] if pol.specialist_rule == "none" else resolve(g for g, _ in pol.specialist_teams)
    teams = [t for _, t in pol.specialist_teams]
    pairs = sql.run(p.con, "lists/offence_pairs").fetchall()
    rows = []
    for code, ho in pairs:
        for priority, group in enumerate(groups):
            if in_group(group, code, ho):
                rows.append(
                    {
                        "offence_code": code,
                        "ho_class": ho,
                        "team": teams[priority],
                        "priority": priority,
                    }
                )
                break
    table = _small_table(
        rows,
        {"offence_code": pl.String, "ho_class": pl.String, "team": pl.String, "priority": pl.Int32},
    )
    sql.table_from_arrow(p.con, "specialist_offences", table)


def _create_victim_sizing(p: Prepared) -> None:
    """The victim list sized for action (``sql/lists/victim_sizing.sql``)."""
    _create_specialist_offences(p)
    params = {
        "min_harm": p.policy.min_harm,
        "min_crimes": p.policy.min_crimes,
        "list_size": p.policy.list_size,
    }
    sql.create_table(p.con, "victim_sizing", "lists/victim_sizing", params)
