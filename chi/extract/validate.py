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
from chi.contract import EARLIEST_DATE, TABLES, Table
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


@dataclass(frozen=True)
class Check:
    """One row check: the rows of ``src_<table> as s`` where ``where`` holds fail it, with
    ``reason`` and ``value`` (SQL expressions over the row) and the column it names."""

    column: str | None
    reason: str
    value: str
    where: str


def _select(table: Table, column: str | None, reason: str, value: str, where: str) -> str:
    col = _literal(column) if column else "null"
    return (
        f"select {_literal(table.name)} as table_name, {_key_expr(table)} as key, "
        f"{col} as column_name, {reason} as reason, cast({value} as varchar) as value, "
        f"_file as file, _row as row from src_{table.name} as s where {where}"
    )


def row_checks(table: Table) -> list[Check]:
    """The per-column checks the contract implies (type, missing, allowed, range, after the
    as-of date), in order."""
    checks: list[Check] = []
    for c in table.columns:
        q = _quote(c.name)
        raw = _quote(c.name + "__raw") if c.type != "string" else q
        if c.type != "string":
            checks.append(
                Check(
                    c.name,
                    _literal(f"not a valid {c.type}"),
                    raw,
                    f"{q} is null and {raw} is not null",
                )
            )
        if not c.nullable:
            # Blank is only whitespace or control characters of any kind (a tab-only key).
            blank = (
                f" or regexp_full_match({q}, '[\\s\\p{{Z}}\\p{{Cc}}]*')"
                if c.type == "string"
                else ""
            )
            checks.append(Check(c.name, "'missing value'", "null", f"({raw} is null{blank})"))
        if c.allowed is not None:
            allowed = ", ".join(_literal(v) for v in c.allowed)
            checks.append(
                Check(
                    c.name,
                    _literal("not an allowed value (" + ", ".join(c.allowed) + ")"),
                    q,
                    f"{q} is not null and trim({q}) <> '' and {q} not in ({allowed})",
                )
            )
        if c.int_range is not None:
            lo, hi = c.int_range
            checks.append(
                Check(
                    c.name,
                    _literal(f"out of range {lo}-{hi}"),
                    q,
                    f"{q} is not null and ({q} < {lo} or {q} > {hi})",
                )
            )
        if c.type == "date":
            checks.append(
                Check(
                    c.name,
                    _literal(f"before {EARLIEST_DATE.isoformat()}"),
                    q,
                    f"{q} < {_literal(EARLIEST_DATE.isoformat())}::date",
                )
            )
    for name in table.date_columns_after_as_of:
        q = _quote(name)
        checks.append(Check(name, "'after the extract as-of date'", q, f"{q} > $as_of"))
    return checks


def column_checks(table: Table) -> list[str]:
    """The per-column checks the contract implies, each a query of offending rows (the form
    a user can run by hand; ``validate`` evaluates them all in one pass per table)."""
    return [_select(table, c.column, c.reason, c.value, c.where) for c in row_checks(table)]


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


def _key_duplicates(
    con: duckdb.DuckDBPyConnection, table: Table, source: str, counted: str | None = None
) -> None:
    """Reject every copy of a key after the first (in file, then row order) among rows
    that passed the other checks. Only keys held by more than one such row are sorted.
    ``counted``: a table of the (single-column) key's values ``k`` with ``n_ok``, the rows
    holding each that passed the other checks (:func:`_keys`), so they are not counted
    twice."""
    keys = ", ".join(_quote(k) for k in table.key)
    repeated = f"select {keys} from ok group by all having count(*) > 1"
    if counted is not None:
        repeated = f"select k as {keys} from {counted} where n_ok > 1"
    query = f"""
        with ok as (
            select s.* from {source} as s
            where s._fails is null and not exists (
                select 1 from rejects r
                where r.table_name = {_literal(table.name)} and r.file = s._file and r.row = s._row
            )
        ),
        repeated as ({repeated}),
        copies as (
            select ok.*,
                   row_number() over (partition by {keys} order by _file, _row) as copy,
                   first_value(_file) over (partition by {keys} order by _file, _row) as f0,
                   first_value(_row) over (partition by {keys} order by _file, _row) as r0
            from ok inner join repeated using ({keys})
        )
        select {_literal(table.name)}, {_key_expr(table)}, {_literal(", ".join(table.key))},
               'duplicate key (first copy kept: ' || f0 || ' row ' || r0 || ')',
               {_key_expr(table)}, _file, _row
        from copies where copy > 1
    """
    _insert_rejects(con, query, {})


def _checked(con: duckdb.DuckDBPyConnection, table: Table, params: dict[str, Any]) -> str:
    """One pass over ``src_<table>``: its contract columns, ``_file``, ``_row`` and ``_fails``,
    the list of every row check and reference check the row fails (null when none), into
    ``checked_<table>``.
    References are looked up in ``keys_<target>`` (every key of the target with whether an
    accepted row holds it), so no check re-reads another table's source."""
    checks: list[tuple[str, str]] = [
        (
            c.where,
            f"{{'column_name': {_literal(c.column or '')}, "
            f"'reason': {c.reason}, 'value': cast({c.value} as varchar)}}",
        )
        for c in row_checks(table)
    ]
    joins = []
    for i, ref in enumerate(table.references):
        col, alias = _quote(ref.column), f"r{i}"
        noun = ref.table.removesuffix("s")
        joins.append(f"left join keys_{ref.table}_{ref.target} as {alias} on {alias}.k = s.{col}")
        checks.append(
            (
                f"s.{col} is not null and {alias}.accepted is distinct from true",
                f"{{'column_name': {_literal(ref.column)}, "
                f"'reason': case when {alias}.k is not null "
                f"then {_literal(f'{ref.column} refers to a rejected {noun}')} "
                f"else {_literal(f'{ref.column} not found in {ref.table}')} end, "
                f"'value': cast(s.{col} as varchar)}}",
            )
        )
    # The list of failures is built only for rows that fail something (null otherwise).
    any_fail = " or ".join(f"({where})" for where, _ in checks)
    fails = ", ".join(f"case when {where} then {failure} end" for where, failure in checks)
    cols = ", ".join(f"s.{_quote(c)}" for c in table.column_names)
    name = f"checked_{table.name}"
    query = (
        f"create or replace table {name} as select {cols}, s._file, s._row, "
        f"case when {any_fail} then list_filter([{fails}], lambda f: f is not null) end "
        "as _fails "
        f"from src_{table.name} as s {' '.join(joins)}"
    )
    wanted = sql.named_parameters(query)
    con.cursor().sql(query, params={k: params[k] for k in sorted(wanted)})
    return name


def _insert_failures(con: duckdb.DuckDBPyConnection, table: Table, checked: str) -> None:
    _insert_rejects(
        con,
        f"""
        select {_literal(table.name)}, {_key_expr(table)},
               nullif(f.column_name, ''), f.reason, f.value, _file, _row
        from (select *, unnest(_fails) as f from {checked} where _fails is not null)
        """,
        {},
    )


def _keys(con: duckdb.DuckDBPyConnection, table: Table, column: str, checked: str) -> str:
    """``keys_<table>_<column>``: every value of ``column``, whether an accepted row has it
    and ``n_ok``, how many rows not rejected (yet) hold it.

    Built before the key check when ``column`` is the table's key: the first of several
    copies is accepted, so a value has an accepted row exactly when some row holding it
    passed the other checks, and ``n_ok > 1`` are the repeated keys."""
    col = _quote(column)
    name = f"keys_{table.name}_{column}"
    con.cursor().sql(
        f"""
        create or replace table {name} as
        select s.{col} as k, bool_or(r.row is null) as accepted,
               count(*) filter (where r.row is null) as n_ok
        from {checked} as s
        left join (select distinct file, row from rejects
                   where table_name = {_literal(table.name)}) as r
            on r.file = s._file and r.row = s._row
        where s.{col} is not null
        group by s.{col}
        """
    )
    return name


def _materialise_valid(con: duckdb.DuckDBPyConnection, table: Table, checked: str) -> None:
    """``valid_<table>``: a view of the checked rows when none is rejected, else a copy of
    the accepted ones (in file and row order, as read)."""
    cols = ", ".join(_quote(c) for c in table.column_names)
    [(rejected,)] = (
        con.cursor()
        .sql(f"select count(*) from rejects where table_name = {_literal(table.name)}")
        .fetchall()
    )
    if not rejected:
        con.cursor().sql(f"drop table if exists valid_{table.name}")
        con.cursor().sql(
            f"create or replace view valid_{table.name} as select {cols}, _file, _row "
            f"from {checked}"
        )
        return
    con.cursor().sql(f"drop view if exists valid_{table.name}")
    con.cursor().sql(
        f"""
        create or replace table valid_{table.name} as
        select {cols}, _file, _row from {checked} s
        where s._fails is null and not exists (
            select 1 from rejects r
            where r.table_name = {_literal(table.name)} and r.file = s._file and r.row = s._row
        )
        """
    )


def _referenced(name: str) -> set[str]:
    return {ref.target for t in TABLES.values() for ref in t.references if ref.table == name}


def validate(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, TableCounts]:
    """Run every check; create ``rejects`` and ``valid_<table>``; return counts per table.

    Each table's source is read once: one statement evaluates every row and reference check
    into ``checked_<table>`` (``_fails``); the checks of ``sql/checks`` and the key check run
    on that table; ``valid_<table>`` is a view of it when nothing was rejected."""
    con.cursor().sql(
        """
        create or replace table rejects (
            table_name varchar, key varchar, column_name varchar, reason varchar,
            value varchar, file varchar, row bigint
        )
        """
    )
    params = {"as_of": as_of}
    counts: dict[str, TableCounts] = {}
    for name, table in TABLES.items():
        checked = _checked(con, table, params)
        _insert_failures(con, table, checked)
        for check_file in _TABLE_CHECK_FILES.get(name, ()):
            # The sql/checks queries read src_<table>; here they read the checked rows.
            shadow = f"with src_{name} as (select * exclude (_fails) from {checked})\n"
            _insert_rejects(con, shadow + sql.load(check_file), params)
        referenced = sorted(_referenced(name))
        if len(table.key) == 1 and table.key[0] in referenced:
            # One aggregation over the key gives both the repeated keys and the lookup table.
            counted = _keys(con, table, table.key[0], checked)
            _key_duplicates(con, table, checked, counted)
            referenced.remove(table.key[0])
        else:
            _key_duplicates(con, table, checked)
        for column in referenced:
            _keys(con, table, column, checked)
        _materialise_valid(con, table, checked)
        [(read, accepted, rejected)] = (
            con.cursor()
            .sql(
                f"""
                select (select count(*) from {checked}),
                       (select count(*) from valid_{name}),
                       (select count(*) from (select distinct file, row from rejects
                                              where table_name = {_literal(name)}))
                """
            )
            .fetchall()
        )
        counts[name] = TableCounts(int(read), int(accepted), int(rejected))
        if rejected:  # valid_<table> is a copy: the checked rows are no longer needed
            con.cursor().sql(f"drop table {checked}")
    for name in TABLES:
        for column in sorted(_referenced(name)):
            con.cursor().sql(f"drop table if exists keys_{name}_{column}")
    return counts
