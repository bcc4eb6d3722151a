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
``tests/test_sql_files.py`` checks that no other module under ``chi/`` holds an SQL
statement.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from typing import TYPE_CHECKING, Any

from chi.reference import sql_dir

if TYPE_CHECKING:  # the state store uses this module without DuckDB or Arrow
    import duckdb
    import pyarrow as pa

_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")


@cache
def load(name: str) -> str:
    """The text of ``sql/<name>.sql`` (``name`` like ``staging/stg_crimes``)."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


MACROS = ("staging/ho_class_macro", "staging/age_macro")
"""The SQL macros every connection that reads chi's data has: ``norm_ho_class``,
``age_years``."""


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define :data:`MACROS` on ``con`` (before it is locked down)."""
    for name in MACROS:
        con.cursor().sql(load(name))


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


def bind(name: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement and exactly the parameters it names; error if any is missing."""
    text = load(name)
    wanted = named_parameters(text)
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"sql/{name}.sql needs parameter(s) {', '.join(sorted(missing))}")
    return text, {k: params[k] for k in sorted(wanted)}


def run(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` on a fresh cursor of ``con``."""
    text, bound = bind(name, params or {})
    cur = con.cursor()
    return cur.sql(text, params=bound) if bound else cur.sql(text)


def create_view(con: duckdb.DuckDBPyConnection, view: str, name: str) -> None:
    """``create or replace view <view> as <sql/name.sql>`` (views take no parameters)."""
    text = load(name)
    if named_parameters(text):
        raise ValueError(f"sql/{name}.sql takes parameters and cannot be a view")
    con.cursor().sql(f"create or replace view {identifier(view)} as\n{text}")


def parquet_view(con: duckdb.DuckDBPyConnection, view: str, path: str) -> None:
    """``create or replace view <view>`` over one Parquet file (a view cannot take the path
    as a parameter, so it is written into the definition as a quoted literal)."""
    con.cursor().sql(
        f"create or replace view {identifier(view)} as select * from read_parquet({literal(path)})"
    )


def create_table(
    con: duckdb.DuckDBPyConnection, table: str, name: str, params: dict[str, Any] | None = None
) -> None:
    """``create or replace table <table> as <sql/name.sql>`` with its parameters."""
    text, bound = bind(name, params or {})
    sql = f"create or replace table {identifier(table)} as\n{text}"
    cur = con.cursor()
    if bound:
        cur.sql(sql, params=bound)
    else:
        cur.sql(sql)


def table_from_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Create (or replace) ``table`` holding ``data``, through the relation API, so that every
    cursor of ``con`` sees it."""
    drop_table(con, table)
    con.cursor().from_arrow(data).create(table)


def drop_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """``drop table if exists <table>``."""
    con.cursor().sql(f"drop table if exists {identifier(table)}")


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
