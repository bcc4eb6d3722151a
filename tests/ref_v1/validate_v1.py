"""Validate an extract against contract v1: every row is accepted or rejected with a reason.

Checks are **queries that return the offending rows** (dbt's test pattern), run in DuckDB
over the reader's typed views. We use plain SQL rather than a dataframe schema library
(pandera, patito, dataframely) because: the extract may be larger than memory and is
already in DuckDB; every failure must name its file and row, which the reader's ``_file`` and
``_row`` carry through SQL for free; and each check stays a small readable query that a user
can run by hand. The generic checks (type, missing value, allowed value, range, date after
the as-of date, key) are generated from :mod:`chi.contract`, so they cannot drift from it;
references are generated from the contract's ``references`` too; the rules that are not
per-column live in ``sql/checks/``.

Order: row checks on crimes and persons; then keys (the first copy in file order is kept,
later copies are rejected); then victims and suspects, whose references must point at an
*accepted* crime and person. Accepted rows land in ``valid_<table>``, failures in
``rejects``. A row may fail several checks: ``rejects`` has one row per failure, and the
counts (rows read = accepted + rejected, per table) count distinct rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from chi import sql
from chi.contract import TABLES, Table
from chi.sql import identifier as _quote
from chi.sql import literal as _literal

REJECT_COLUMNS = "table_name, key, column_name, reason, value, file, row"


@dataclass(frozen=True)
class TableCounts:
    read: int
    accepted: int
    rejected: int

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected


def _key_expr(table: Table) -> str:
    parts = [f"coalesce({_quote(k)}, '')" for k in table.key]
    if len(parts) == 1:
        return f"cast({_quote(table.key[0])} as varchar)"
    return " || '|' || ".join(parts)


def _select(table: Table, column: str | None, reason: str, value: str, where: str) -> str:
    col = _literal(column) if column else "null"
    return (
        f"select {_literal(table.name)} as table_name, {_key_expr(table)} as key, "
        f"{col} as column_name, {reason} as reason, cast({value} as varchar) as value, "
        f"_file as file, _row as row from src_{table.name} as s where {where}"
    )


def column_checks(table: Table) -> list[str]:
    """The per-column checks the contract implies, each a query of offending rows."""
    checks: list[str] = []
    for c in table.columns:
        q = _quote(c.name)
        raw = _quote(c.name + "__raw") if c.type != "string" else q
        if c.type != "string":
            checks.append(
                _select(
                    table,
                    c.name,
                    _literal(f"not a valid {c.type}"),
                    raw,
                    f"{q} is null and {raw} is not null",
                )
            )
        if not c.nullable:
            blank = f" or trim({q}) = ''" if c.type == "string" else ""
            checks.append(
                _select(table, c.name, "'missing value'", "null", f"({raw} is null{blank})")
            )
        if c.allowed is not None:
            allowed = ", ".join(_literal(v) for v in c.allowed)
            checks.append(
                _select(
                    table,
                    c.name,
                    _literal("not an allowed value (" + ", ".join(c.allowed) + ")"),
                    q,
                    f"{q} is not null and trim({q}) <> '' and {q} not in ({allowed})",
                )
            )
        if c.int_range is not None:
            lo, hi = c.int_range
            checks.append(
                _select(
                    table,
                    c.name,
                    _literal(f"out of range {lo}-{hi}"),
                    q,
                    f"{q} is not null and ({q} < {lo} or {q} > {hi})",
                )
            )
    for name in table.date_columns_after_as_of:
        q = _quote(name)
        checks.append(
            _select(
                table,
                name,
                "'after the extract as-of date'",
                q,
                f"{q} > $as_of",
            )
        )
    return checks


def reference_checks(table: Table) -> list[str]:
    """Rows whose reference does not point at an *accepted* row of the target table; the
    reason says whether the target is missing or was itself rejected."""
    checks = []
    for ref in table.references:
        col, target, tcol = _quote(ref.column), ref.table, _quote(ref.target)
        noun = ref.table.removesuffix("s")
        reason = (
            f"case when exists (select 1 from src_{target} as t where t.{tcol} = s.{col}) "
            f"then {_literal(f'{ref.column} refers to a rejected {noun}')} "
            f"else {_literal(f'{ref.column} not found in {target}')} end"
        )
        checks.append(
            _select(
                table,
                ref.column,
                reason,
                col,
                f"{col} is not null and not exists "
                f"(select 1 from valid_{target} as t where t.{tcol} = s.{col})",
            )
        )
    return checks


_TABLE_CHECK_FILES: dict[str, tuple[str, ...]] = {
    "crimes": ("checks/crimes_no_offence", "checks/crimes_occurred_after_recorded"),
}


def _insert_rejects(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]) -> None:
    wanted = sql.named_parameters(query)
    bound = {k: params[k] for k in sorted(wanted)}
    text = f"insert into rejects ({REJECT_COLUMNS}) {query}"
    cur = con.cursor()
    if bound:
        cur.sql(text, params=bound)
    else:
        cur.sql(text)


def _key_duplicates(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Reject every copy of a key after the first (in file, then row order) among rows
    that passed the other checks."""
    keys = ", ".join(_quote(k) for k in table.key)
    query = f"""
        with ok as (
            select s.*, row_number() over (partition by {keys} order by _file, _row) as copy,
                   first_value(_file) over (partition by {keys} order by _file, _row) as f0,
                   first_value(_row) over (partition by {keys} order by _file, _row) as r0
            from src_{table.name} s
            where not exists (
                select 1 from rejects r
                where r.table_name = {_literal(table.name)} and r.file = s._file and r.row = s._row
            )
        )
        select {_literal(table.name)}, {_key_expr(table)}, {_literal(", ".join(table.key))},
               'duplicate key (first copy kept: ' || f0 || ' row ' || r0 || ')',
               {_key_expr(table)}, _file, _row
        from ok where copy > 1
    """
    _insert_rejects(con, query, {})


def _materialise_valid(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    cols = ", ".join(_quote(c) for c in table.column_names)
    con.cursor().sql(
        f"""
        create or replace table valid_{table.name} as
        select {cols}, _file, _row from src_{table.name} s
        where not exists (
            select 1 from rejects r
            where r.table_name = {_literal(table.name)} and r.file = s._file and r.row = s._row
        )
        order by _file, _row
        """
    )


def validate(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, TableCounts]:
    """Run every check; create ``rejects`` and ``valid_<table>``; return counts per table."""
    con.cursor().sql(
        """
        create or replace table rejects (
            table_name varchar, key varchar, column_name varchar, reason varchar,
            value varchar, file varchar, row bigint
        )
        """
    )
    params = {"as_of": as_of}
    for name, table in TABLES.items():
        for check in column_checks(table) + reference_checks(table):
            _insert_rejects(con, check, params)
        for check_file in _TABLE_CHECK_FILES.get(name, ()):
            _insert_rejects(con, sql.load(check_file), params)
        _key_duplicates(con, table)
        _materialise_valid(con, table)
    counts: dict[str, TableCounts] = {}
    for name in TABLES:
        [(read, accepted, rejected)] = (
            con.cursor()
            .sql(
                f"""
                select (select count(*) from src_{name}),
                       (select count(*) from valid_{name}),
                       (select count(*) from (select distinct file, row from rejects
                                              where table_name = {_literal(name)}))
                """
            )
            .fetchall()
        )
        counts[name] = TableCounts(int(read), int(accepted), int(rejected))
    return counts
