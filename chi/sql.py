"""Load the scoring SQL from ``sql/`` and run it with named parameters.

Each file holds one statement. Its parameters are read from its own text (``$name``), as
datasette does, so a query file declares what it needs and a missing or unexpected
parameter fails loudly before DuckDB sees the query.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import duckdb

from chi.reference import sql_dir

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
    con.cursor().sql(f"create or replace view {view} as\n{text}")


def create_table(
    con: duckdb.DuckDBPyConnection, table: str, name: str, params: dict[str, Any] | None = None
) -> None:
    """``create or replace table <table> as <sql/name.sql>`` with its parameters."""
    text, bound = bind(name, params or {})
    sql = f"create or replace table {table} as\n{text}"
    cur = con.cursor()
    if bound:
        cur.sql(sql, params=bound)
    else:
        cur.sql(sql)
