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
*accepted* crime and person. Crimes and persons are validated side by side, then victims
and suspects (:func:`chi.sql.run_steps`). Accepted rows land in ``valid_<table>``, failures in
``rejects``. A row may fail several checks: ``rejects`` has one row per failure, and the
counts (rows read = accepted + rejected, per table) count distinct rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import duckdb

from chi import sql
from chi.contract import EARLIEST_DATE, TABLES, Table
from chi.sql import Step, run_steps


@dataclass(frozen=True)
class TableCounts:
    read: int
    accepted: int
    rejected: int

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected


def row_checks(table: Table, as_of: date) -> list[sql.Rule]:
    """The per-column checks the contract implies (type, missing, allowed, range, after the
    as-of date), in order: each a rule macro of ``sql/checks/`` on the row's columns, with
    its values (allowed values, bounds, dates) and reason bound as parameters."""
    checks: list[sql.Rule] = []
    for c in table.columns:
        raw = c.name + "__raw" if c.type != "string" else c.name
        if c.type != "string":
            checks.append(
                sql.Rule(c.name, "not_valid", (c.name, raw), (), f"not a valid {c.type}", raw)
            )
        if not c.nullable:
            if c.type == "string":
                checks.append(sql.Rule(c.name, "blank", (c.name,), (), "missing value", None))
            else:
                checks.append(sql.Rule(c.name, "missing", (raw,), (), "missing value", None))
        if c.allowed is not None:
            reason = "not an allowed value (" + ", ".join(c.allowed) + ")"
            checks.append(
                sql.Rule(c.name, "not_allowed", (c.name,), (list(c.allowed),), reason, c.name)
            )
        if c.int_range is not None:
            lo, hi = c.int_range
            checks.append(
                sql.Rule(
                    c.name, "out_of_range", (c.name,), (lo, hi), f"out of range {lo}-{hi}", c.name
                )
            )
        if c.type == "date":
            reason = f"before {EARLIEST_DATE.isoformat()}"
            checks.append(sql.Rule(c.name, "before", (c.name,), (EARLIEST_DATE,), reason, c.name))
    for name in table.date_columns_after_as_of:
        reason = "after the extract as-of date"
        checks.append(sql.Rule(name, "after", (name,), (as_of,), reason, name))
    return checks


def reference_checks(table: Table) -> list[sql.Lookup]:
    """Rows whose reference does not point at an *accepted* row of the target table, looked
    up in ``keys_<target>_<column>`` (every key of the target with whether an accepted row
    holds it); the reason says whether the target is missing or was itself rejected."""
    return [
        sql.Lookup(
            ref.column,
            f"keys_{ref.table}_{ref.target}",
            f"{ref.column} refers to a rejected {ref.table.removesuffix('s')}",
            f"{ref.column} not found in {ref.table}",
        )
        for ref in table.references
    ]


_TABLE_CHECK_FILES: dict[str, tuple[str, ...]] = {
    "crimes": ("checks/crimes_no_offence", "checks/crimes_occurred_after_recorded"),
}


def _key_duplicates(
    con: duckdb.DuckDBPyConnection, table: Table, checked: str, counted: str | None = None
) -> None:
    """Reject every copy of a key after the first (in file, then row order) among rows
    that passed the other checks. Only keys held by more than one such row are sorted.
    ``counted``: a table of the (single-column) key's values ``k`` with ``n_ok``, the rows
    holding each that passed the other checks (:func:`_keys`), so they are not counted
    twice."""
    parts = {
        "checked": sql.identifier(checked),
        "keys": sql.columns_list(table.key),
        "key": sql.key_expression(table.key),
    }
    params = {"table_name": table.name, "key_columns": ", ".join(table.key)}
    if counted is None:
        sql.run(con, "checks/key_duplicates", params, parts)
    else:
        parts["counted"] = sql.identifier(counted)
        sql.run(con, "checks/key_duplicates_counted", params, parts)


def _checked(con: duckdb.DuckDBPyConnection, table: Table, as_of: date) -> str:
    """One pass over ``src_<table>``: its contract columns, ``_file``, ``_row`` and ``_fails``,
    the list of every row check and reference check the row fails (null when none), into
    ``checked_<table>``.
    References are looked up in ``keys_<target>`` (every key of the target with whether an
    accepted row holds it), so no check re-reads another table's source."""
    name = f"checked_{table.name}"
    sql.create_checked(
        con,
        name,
        f"src_{table.name}",
        table.column_names,
        row_checks(table, as_of),
        reference_checks(table),
    )
    return name


def _insert_failures(con: duckdb.DuckDBPyConnection, table: Table, checked: str) -> None:
    parts = {"key": sql.key_expression(table.key), "checked": sql.identifier(checked)}
    sql.run(con, "checks/insert_failures", {"table_name": table.name}, parts)


def _keys(con: duckdb.DuckDBPyConnection, table: Table, column: str, checked: str) -> str:
    """``keys_<table>_<column>``: every value of ``column``, whether an accepted row has it
    and ``n_ok``, how many rows not rejected (yet) hold it.

    Built before the key check when ``column`` is the table's key: the first of several
    copies is accepted, so a value has an accepted row exactly when some row holding it
    passed the other checks, and ``n_ok > 1`` are the repeated keys."""
    name = f"keys_{table.name}_{column}"
    parts = {"column": sql.identifier(column), "checked": sql.identifier(checked)}
    sql.create_table(con, name, "checks/keys", {"table_name": table.name}, parts)
    return name


def _materialise_valid(con: duckdb.DuckDBPyConnection, table: Table, checked: str) -> None:
    """``valid_<table>``: a view of the checked rows when none is rejected, else a copy of
    the accepted ones (in file and row order, as read)."""
    parts = {"columns": sql.columns_list(table.column_names), "checked": sql.identifier(checked)}
    valid = f"valid_{table.name}"
    [(rejected,)] = sql.run(con, "checks/rejected_count", {"table_name": table.name}).fetchall()
    if not rejected:
        sql.drop_table(con, valid)
        sql.create_view(con, valid, "checks/valid_view", parts)
        return
    sql.drop_view(con, valid)
    sql.create_table(con, valid, "checks/valid_rows", {"table_name": table.name}, parts)


def _referenced(name: str) -> set[str]:
    return {ref.target for t in TABLES.values() for ref in t.references if ref.table == name}


def validate(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, TableCounts]:
    """Run every check; create ``rejects`` and ``valid_<table>``; return counts per table.

    Each table's source is read once: one statement evaluates every row and reference check
    into ``checked_<table>`` (``_fails``); the checks of ``sql/checks`` and the key check run
    on that table; ``valid_<table>`` is a view of it when nothing was rejected."""
    sql.run(con, "checks/rejects_table")
    for macro in sql.CHECK_MACROS:
        sql.run(con, macro)
    counts: dict[str, TableCounts] = {}

    def check(name: str) -> None:
        counts[name] = _validate_table(con, TABLES[name], as_of)

    # A table's reference checks look its targets' keys up: the tables that need no other run
    # side by side first (crimes, persons), then the ones that need them (victims, suspects).
    run_steps(
        [
            Step(name, functools.partial(check, name), tuple(sorted(_targets(table))))
            for name, table in TABLES.items()
        ],
        workers=VALIDATE_WORKERS,
        interrupt=lambda: sql.interrupt(con),
    )
    for name in TABLES:
        for column in sorted(_referenced(name)):
            sql.drop_table(con, f"keys_{name}_{column}")
    return {name: counts[name] for name in TABLES}


VALIDATE_WORKERS = 2
"""Tables validated side by side: a Parquet row group is read by one thread, so one table of
a small extract keeps one core busy."""


def _targets(table: Table) -> set[str]:
    """The tables whose keys ``table``'s reference checks look up."""
    return {ref.table for ref in table.references}


def _validate_table(con: duckdb.DuckDBPyConnection, table: Table, as_of: date) -> TableCounts:
    """Every check of one table: its rejects, ``valid_<table>`` and ``keys_<table>_<column>``
    for the columns other tables look up (``keys_<target>_<column>`` of its targets must
    exist)."""
    name = table.name
    params = {"as_of": as_of}
    checked = _checked(con, table, as_of)
    _insert_failures(con, table, checked)
    for check_file in _TABLE_CHECK_FILES.get(name, ()):
        # The sql/checks queries read src_<table>; here they read the checked rows.
        sql.insert_check(con, check_file, f"src_{name}", checked, params)
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
    parts = {"checked": sql.identifier(checked), "valid": sql.identifier(f"valid_{name}")}
    counted_rows = sql.run(con, "checks/counts", {"table_name": name}, parts)
    [(read, accepted, rejected)] = counted_rows.fetchall()
    if rejected:  # valid_<table> is a copy: the checked rows are no longer needed
        sql.drop_table(con, checked)
    return TableCounts(int(read), int(accepted), int(rejected))
