"""Load the SQL from ``sql/`` and run it with named parameters.

Each file holds one statement. Its parameters are read from its own text (``$name``), as
datasette does, so a query file declares what it needs and a missing or unexpected
parameter fails loudly before DuckDB sees the query. Values, scopes and lists are always
bound, never written into the text.

This module is also the one place that writes SQL text: DuckDB cannot prepare a view, so
``create_view``, ``create_table`` and ``parquet_view`` wrap a file's query (or a Parquet
file's path) in the statement that names the view or table, ``drop_table`` drops one, the
name quoted by ``identifier`` and the path by ``literal``; ``table_from_arrow`` makes a
table of Arrow data through the relation API, which needs no SQL text; and
``set_user_version`` writes the state store's schema version (SQLite binds no pragma).

Statements whose shape the data contract's columns decide are templates in ``sql/``
(``{part}`` placeholders, :func:`fill`) completed here and only here: the extract's typed
views (:func:`extract_views`, over the cast macros of ``sql/extract/``) and the checked pass
of validation (:func:`create_checked`, applying the rule macros of ``sql/checks/``). A part
is a quoted name or an expression built here from quoted names; every value is bound (but a
view's file path and time zone, which a view cannot take as parameters: :func:`literal`).
``tests/test_sql_files.py`` checks that no other module under ``chi/`` holds an SQL
statement.

Statements that need nothing of each other can run side by side (:func:`run_steps`, at the
end of this module).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from chi.progress import Progress, silent
from chi.reference import sql_dir

if TYPE_CHECKING:  # the state store uses this module without DuckDB or Arrow
    import duckdb
    import pyarrow as pa

_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")
_PART = re.compile(r"\{([a-z_]+)\}")


@cache
def load(name: str) -> str:
    """The text of ``sql/<name>.sql`` (``name`` like ``staging/stg_crimes``)."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


_CURSORS: weakref.WeakKeyDictionary[Any, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()
_CURSORS_LOCK = threading.Lock()


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A fresh cursor of ``con`` (every statement of this module runs on one), remembered
    for as long as it lives so that :func:`interrupt` reaches what it runs."""
    cur = con.cursor()
    with _CURSORS_LOCK:
        _CURSORS.setdefault(con, weakref.WeakSet()).add(cur)
    return cur


def interrupt(con: duckdb.DuckDBPyConnection) -> None:
    """Stop the statements running on ``con`` and on every cursor of it made here (DuckDB's
    interrupt of a connection does not reach its cursors); each raises
    ``duckdb.InterruptException`` in the thread that runs it. A cursor that runs nothing is
    unaffected: its next statement runs."""
    with _CURSORS_LOCK:
        live = list(_CURSORS.get(con, ()))
    con.interrupt()
    for cur in live:
        cur.interrupt()


def interrupt_all() -> None:
    """:func:`interrupt` every connection a cursor was made of here: what Ctrl-C does while a
    command runs (see ``chi.cli.main``), since DuckDB does not always notice the signal
    itself while it runs a statement in the main thread."""
    with _CURSORS_LOCK:
        live = [(con, list(curs)) for con, curs in _CURSORS.items()]
    for con, curs in live:
        for each in (con, *curs):
            # a closed connection or cursor runs nothing; DuckDB refuses to interrupt it
            with contextlib.suppress(Exception):
                each.interrupt()


MACROS = ("staging/ho_class_macro", "staging/age_macro")
"""The SQL macros every connection that reads chi's data has: ``norm_ho_class``,
``age_years``."""


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define :data:`MACROS` on ``con`` (before it is locked down)."""
    for name in MACROS:
        cursor(con).sql(load(name))


def literal(text: str) -> str:
    """A SQL string literal (for the few values that cannot be parameters: file paths in
    ``read_parquet``, view definitions)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def named_parameters(text: str) -> set[str]:
    """The ``$name`` parameters a statement uses (comments ignored)."""
    return set(_PARAM.findall(_COMMENT.sub("", text)))


def placeholders(text: str) -> set[str]:
    """The ``{part}`` placeholders of a template (comments ignored)."""
    return set(_PART.findall(_COMMENT.sub("", text)))


def fill(name: str, parts: dict[str, str] | None = None) -> str:
    """``sql/<name>.sql`` with each ``{part}`` placeholder (outside comments) replaced.

    A part is only ever a name quoted by :func:`identifier`, a list of them, or an
    expression this module generates from them and the macros (``checks/rule_*.sql``,
    ``extract/*.sql``), never a value: values are ``$parameters`` (but in a view, which
    takes none: there an extract file's path is a :func:`literal`). Every placeholder must
    be given, and only those."""
    text = load(name)
    parts = parts or {}
    if not _PART.search(text) and not parts:
        return text
    body = _COMMENT.sub("", text)
    wanted = placeholders(body)
    if wanted != parts.keys():
        raise KeyError(f"sql/{name}.sql takes parts {sorted(wanted)}, given {sorted(parts)}")
    return _PART.sub(lambda m: parts[m.group(1)], body)


def bind(
    name: str, params: dict[str, Any], parts: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement (its parts filled) and exactly the parameters it names; error if any
    is missing."""
    text = fill(name, parts)
    wanted = named_parameters(text)
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"sql/{name}.sql needs parameter(s) {', '.join(sorted(missing))}")
    return text, {k: params[k] for k in sorted(wanted)}


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, Any] | None = None,
    parts: dict[str, str] | None = None,
) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` (its parts filled, :func:`fill`) on a fresh cursor of ``con``."""
    text, bound = bind(name, params or {}, parts)
    cur = cursor(con)
    return cur.sql(text, params=bound) if bound else cur.sql(text)


def create_view(
    con: duckdb.DuckDBPyConnection, view: str, name: str, parts: dict[str, str] | None = None
) -> None:
    """``create or replace view <view> as <sql/name.sql>`` (views take no parameters)."""
    text = fill(name, parts)
    if named_parameters(text):
        raise ValueError(f"sql/{name}.sql takes parameters and cannot be a view")
    _create_view(con, view, text)


def _create_view(con: duckdb.DuckDBPyConnection, view: str, text: str) -> None:
    cursor(con).sql(f"create or replace view {identifier(view)} as\n{text}")


def parquet_view(con: duckdb.DuckDBPyConnection, view: str, path: str) -> None:
    """``create or replace view <view>`` over one Parquet file (a view cannot take the path
    as a parameter, so it is written into the definition as a quoted literal)."""
    cursor(con).sql(
        f"create or replace view {identifier(view)} as select * from read_parquet({literal(path)})"
    )


def create_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    name: str,
    params: dict[str, Any] | None = None,
    parts: dict[str, str] | None = None,
) -> None:
    """``create or replace table <table> as <sql/name.sql>`` with its parameters."""
    text, bound = bind(name, params or {}, parts)
    sql = f"create or replace table {identifier(table)} as\n{text}"
    cur = cursor(con)
    if bound:
        cur.sql(sql, params=bound)
    else:
        cur.sql(sql)


def table_from_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Create (or replace) ``table`` holding ``data``, through the relation API, so that every
    cursor of ``con`` sees it."""
    drop_table(con, table)
    cursor(con).from_arrow(data).create(table)


def drop_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """``drop table if exists <table>``."""
    cursor(con).sql(f"drop table if exists {identifier(table)}")


def drop_view(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """``drop view if exists <view>``."""
    cursor(con).sql(f"drop view if exists {identifier(view)}")


# The checks of an extract (chi.extract.validate), whose shape the contract's columns decide:
# generated here, and only here, from the templates in sql/checks/.

CHECK_MACROS = (
    "checks/rule_not_valid",
    "checks/rule_missing",
    "checks/rule_blank",
    "checks/rule_not_allowed",
    "checks/rule_out_of_range",
    "checks/rule_before",
    "checks/rule_after",
    "checks/rule_reference",
)
"""The rule macros a row check applies (``rule_<rule>``)."""


@dataclass(frozen=True)
class Rule:
    """One row check: the macro ``rule_<rule>`` (``sql/checks/rule_<rule>.sql``) applied to
    the row's ``columns`` then the bound ``values``; a failing row records ``column`` (''
    for none), ``reason`` and the text of the column ``shown`` (None: no value)."""

    column: str
    rule: str
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    reason: str
    shown: str | None


@dataclass(frozen=True)
class Lookup:
    """One reference check: ``column`` must be a key an accepted row of the target holds,
    looked up in the table ``keys`` (``k``, ``accepted``: ``checks/keys.sql``); the reason
    is ``rejected`` when a row of the target holds it, else ``missing``."""

    column: str
    keys: str
    rejected: str
    missing: str


def columns_list(columns: Sequence[str], prefix: str = "") -> str:
    """``"a", "b"`` (each name quoted, ``prefix`` like ``s.`` before each)."""
    return ", ".join(prefix + identifier(c) for c in columns)


def key_expression(key: Sequence[str]) -> str:
    """A row's key as text: the one column's value, or the columns' values (blank for null)
    joined by ``|``."""
    if len(key) == 1:
        return f"cast({identifier(key[0])} as varchar)"
    return " || '|' || ".join(f"coalesce({identifier(k)}, '')" for k in key)


def create_checked(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    columns: Sequence[str],
    rules: Sequence[Rule],
    lookups: Sequence[Lookup],
) -> None:
    """``table`` as ``sql/checks/checked.sql`` over ``source``: its ``columns``, ``_file``,
    ``_row`` and ``_fails``, the failures of ``rules`` and ``lookups`` (null when none). Every
    value (reasons, allowed values, bounds, dates) is a bound parameter."""
    params: dict[str, Any] = {}
    checks: list[tuple[str, str]] = []
    for i, rule in enumerate(rules):
        args = [f"s.{identifier(c)}" for c in rule.columns]
        for j, value in enumerate(rule.values):
            params[f"f{i}_{j}"] = value
            args.append(f"$f{i}_{j}")
        params[f"f{i}_column"], params[f"f{i}_reason"] = rule.column, rule.reason
        shown = f"s.{identifier(rule.shown)}" if rule.shown else "null"
        checks.append(
            (
                f"rule_{rule.rule}({', '.join(args)})",
                f"{{'column_name': $f{i}_column, 'reason': $f{i}_reason, "
                f"'value': cast({shown} as varchar)}}",
            )
        )
    joins = []
    for i, lookup in enumerate(lookups):
        col, alias = f"s.{identifier(lookup.column)}", f"r{i}"
        joins.append(f"left join {identifier(lookup.keys)} as {alias} on {alias}.k = {col}")
        params[f"r{i}_column"] = lookup.column
        params[f"r{i}_rejected"], params[f"r{i}_missing"] = lookup.rejected, lookup.missing
        checks.append(
            (
                f"rule_reference({col}, {alias}.accepted)",
                f"{{'column_name': $r{i}_column, 'reason': case when {alias}.k is not null "
                f"then $r{i}_rejected else $r{i}_missing end, 'value': cast({col} as varchar)}}",
            )
        )
    parts = {
        "columns": columns_list(columns, "s."),
        "any_fail": " or ".join(f"({where})" for where, _ in checks),
        "fails": ", ".join(f"case when {where} then {failure} end" for where, failure in checks),
        "source": identifier(source),
        "joins": " ".join(joins),
    }
    create_table(con, table, "checks/checked", params, parts)


def insert_check(
    con: duckdb.DuckDBPyConnection,
    check: str,
    source: str,
    checked: str,
    params: dict[str, Any],
) -> None:
    """The offending rows of ``sql/<check>.sql`` (which reads ``source``, here the rows of
    ``checked``) into ``rejects`` (``sql/checks/insert_check.sql``)."""
    parts = {"source": identifier(source), "checked": identifier(checked), "check": load(check)}
    text, bound = bind("checks/insert_check", params, parts)
    cur = cursor(con)
    if bound:
        cur.sql(text, params=bound)
    else:
        cur.sql(text)


# The typed views of an extract (chi.extract.read): one select per file, one cast per contract
# column, generated here from the cast macros of sql/extract/. A view cannot take
# parameters, so each file's path (and the force's time zone) is a quoted literal in it.

EXTRACT_MACROS = (
    "extract/cast_date",
    "extract/cast_int",
    "extract/cast_bool",
    "extract/native_date",
    "extract/native_int",
    "extract/zone_date_text",
)
"""The macros the typed views call (``cast_<type>``, ``native_<type>``, ``zone_date_text``)."""


@dataclass(frozen=True)
class ContractColumn:
    """A contract column as the views need it: its name, logical type (``string``, ``date``,
    ``int``, ``bool``) and DuckDB type."""

    name: str
    logical: str
    duckdb: str


@dataclass(frozen=True)
class ExtractFile:
    """One Parquet file of a table: its path, its path relative to the extract (``_file``),
    its columns in file order, the contract columns stored as a timestamp with a time zone
    (``zoned``) and those stored in their logical type, read as they are (``native``)."""

    path: str
    relative: str
    names: tuple[str, ...]
    zoned: frozenset[str] = frozenset()
    native: frozenset[str] = frozenset()


def cast_expression(logical: str, text: str) -> str:
    """SQL that casts a text value to a contract type, or NULL if that would lose anything
    (the ``cast_<type>`` macros of ``sql/extract/``)."""
    if logical == "string":
        return text
    if logical in ("date", "int", "bool"):
        return f"cast_{logical}({text})"
    raise ValueError(logical)


def _native(logical: str, ref: str) -> str:
    """A column stored in its logical type as that type, giving exactly what
    :func:`cast_expression` gives on its text."""
    if logical == "date":
        return f"native_date({ref})"
    if logical == "int":
        return f"native_int({ref})"
    if logical == "bool":
        return ref
    raise ValueError(logical)


def _file_source(
    f: ExtractFile, columns: Sequence[ContractColumn]
) -> tuple[str, dict[str, str], str]:
    """The ``from`` clause of one file (columns renamed by position to ``_c0``...), each
    contract column's alias, and the expression of the 1-based row number."""
    names = list(f.names)
    lowered = {n.lower() for n in names}
    if "file_row_number" in lowered:
        source = f"read_parquet({literal(f.path)}, hive_partitioning = false) with ordinality"
    else:
        source = (
            f"read_parquet({literal(f.path)}, file_row_number = true, hive_partitioning = false)"
        )
    aliases = [f"_c{i}" for i in range(len(names))] + ["_n"]
    row = "_n" if "file_row_number" in lowered else "_n + 1"
    refs = {c.name: aliases[names.index(c.name)] for c in columns}
    return f"{source} as _t({', '.join(aliases)})", refs, row


def _text(f: ExtractFile, column: str, ref: str, timezone: str) -> str:
    if column in f.zoned:
        return f"zone_date_text({literal(timezone)}, {ref})"
    return f"cast({ref} as varchar)"


def _file_select(f: ExtractFile, columns: list[str], row: str, source: str) -> str:
    parts = {"columns": ", ".join(columns), "file": literal(f.relative), "row": row}
    return fill("extract/file_select", {**parts, "source": source})


def raw_select(f: ExtractFile, columns: Sequence[ContractColumn], timezone: str) -> str:
    """One file's rows with every contract column as text, plus ``_file`` and ``_row``.

    Columns are renamed by position (``as _t(_c0, ...)``), so an extra column of any name
    (``file_row_number``, ``_file``, a case variant of a contract column) cannot clash with
    ours; a timestamp with a time zone becomes the date it was in the force's zone."""
    source, refs, row = _file_source(f, columns)
    cols = [f"{_text(f, c.name, refs[c.name], timezone)} as {identifier(c.name)}" for c in columns]
    return _file_select(f, cols, row, source)


def typed_select(f: ExtractFile, columns: Sequence[ContractColumn], timezone: str) -> str:
    """One file's rows with every contract column in its logical type and, for every
    non-text column, its text in ``<column>__raw``, plus ``_file`` and ``_row``; a column in
    ``f.native`` is taken as it is, the others are parsed from their text."""
    source, refs, row = _file_source(f, columns)
    cols = []
    for c in columns:
        q, ref = identifier(c.name), refs[c.name]
        text = _text(f, c.name, ref, timezone)
        if c.logical == "string":
            cols.append(f"{text} as {q}")
            continue
        typed = _native(c.logical, ref) if c.name in f.native else cast_expression(c.logical, text)
        cols.append(f"cast({typed} as {c.duckdb}) as {q}")
        cols.append(f"{text} as {identifier(c.name + '__raw')}")
    return _file_select(f, cols, row, source)


def extract_views(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: Sequence[ExtractFile],
    columns: Sequence[ContractColumn],
    timezone: str,
) -> None:
    """``raw_<table>`` (every file's contract columns as text, stacked) and ``src_<table>``
    (each file read once in its own types, cast to the contract's), with ``_file`` and
    ``_row``; a table without files has empty views of the same columns. The macros of
    :data:`EXTRACT_MACROS` must be on ``con``."""
    raw, src = f"raw_{table}", f"src_{table}"
    if files:
        # One select per file, each cast on its own, so files of one table may use
        # different physical types (a union by name would try to cast one into the other).
        _create_view(
            con, raw, "\nunion all\n".join(raw_select(f, columns, timezone) for f in files)
        )
        _create_view(
            con, src, "\nunion all\n".join(typed_select(f, columns, timezone) for f in files)
        )
        return
    empty = ", ".join(f"cast(null as varchar) as {identifier(c.name)}" for c in columns)
    create_view(con, raw, "extract/empty_raw", {"columns": empty})
    exprs = []
    for c in columns:
        q = identifier(c.name)
        exprs.append(f"cast({cast_expression(c.logical, q)} as {c.duckdb}) as {q}")
        if c.logical != "string":
            exprs.append(f"{q} as {identifier(c.name + '__raw')}")
    create_view(
        con, src, "extract/empty_src", {"columns": ", ".join(exprs), "raw": identifier(raw)}
    )


def sqlite(
    con: sqlite3.Connection, name: str, params: dict[str, Any] | None = None
) -> sqlite3.Cursor:
    """Run ``sql/<name>.sql`` (a SQLite statement of the state store) on ``con`` with its
    ``$name`` parameters, which SQLite binds by name as DuckDB does."""
    text, bound = bind(name, params or {})
    return con.execute(text, bound)


def set_user_version(con: sqlite3.Connection, version: int) -> None:
    """``pragma user_version = <version>``: SQLite cannot bind a pragma's value, so the whole
    number is written into the statement."""
    con.execute(f"pragma user_version = {int(version)}")


# Statements side by side.
#
# Run independent SQL statements side by side: a few steps with the steps they need.
#
# Much of DuckDB's work on one statement runs on one core: a Parquet row group is read by one
# thread, and a window partitioned by person or a final sort has a single-threaded merge. Two
# independent statements on two cursors of the same database fill the second core while the
# first is in such a stretch (the victim list and the offender list share nothing until they
# are published). Each step runs on a worker thread with its own cursor (``chi.sql`` takes a
# fresh cursor of the one connection per statement); results are tables of the database, so
# they are the same whatever the order in which the steps ran.
#
# A step starts once every step it needs has finished, in the order given among the steps
# that are ready. After a failure no further step starts; the running ones finish and the first
# failure is raised. Progress is reported from the calling thread as steps finish (with one
# worker, as each starts). With one worker the steps run in the calling thread, one after the
# other, so that an interrupt (Ctrl-C) stops the running statement at once; with more, an
# interrupt waits for the running statements to end (DuckDB's interrupt of a connection
# does not reach its cursors). The lists of a large extract, whose statements are long, take
# the one-worker path (``chi.scoring.score.SIDE_BY_SIDE_BELOW``); validation runs two tables
# at a time at every size (a national extract takes about 20 s a pair).


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
    interrupt: Callable[[], None] | None = None,
) -> None:
    """Run ``steps`` on at most ``workers`` threads, each after the steps it needs;
    ``progress`` moves from ``start`` to ``end`` with the label of each step as it finishes
    (with one worker: as it starts, so that a bar names what is running).

    When a step fails, or the calling thread is interrupted (Ctrl-C) while steps run on the
    workers, nothing more starts and ``interrupt`` (for statements: :func:`interrupt` of
    their connection) stops the steps still running rather than waiting for them; the
    failure, or the interrupt, is raised once they have stopped."""
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
        try:
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
                        if failure is None and running and interrupt is not None:
                            interrupt()  # the run has failed: stop the others' statements
                        failure = failure or error
                        continue
                    done.add(step.name)
                    at = start + (end - start) * len(done) / len(steps)
                    progress(step.label or step.name, at)
        except BaseException:
            # interrupted while waiting (Ctrl-C reaches the calling thread only): stop the
            # running steps, so that leaving the pool does not wait for them to finish
            if interrupt is not None:
                interrupt()
            raise
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
