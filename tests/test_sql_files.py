"""Every SQL statement lives in ``sql/``, one per file, listed in ``sql/README.md``; no module
under ``chi/`` writes one (but ``chi/sql.py``, which wraps a file's query in the statement
that names its view or table); and values, scopes and lists are bound, so a hostile
neighbourhood code or person id is only ever a value that matches nothing."""

from __future__ import annotations

import ast
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from app_fixtures import ARBURY, Fixture, shared_fixture

from chi import sql
from chi.meetings.decisions import _FIELDS as DECISION_FIELDS
from chi.meetings.decisions import COLUMNS as DECISION_COLUMNS
from chi.meetings.impact import scoped_inputs
from chi.reading.lists import (
    Scope,
    dyad_list,
    exited,
    offender_list,
    person_detail,
    victim_briefing,
    victim_list,
)
from chi.reference import sql_dir
from chi.scoring.runs import Run, open_run
from chi.state.audit import AUDIT_COLUMNS, AUDIT_FIELDS
from chi.state.store import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent
SQL = sql_dir()

# A string that opens with an SQL statement (the keywords chi's SQL starts with).
STATEMENT = re.compile(
    r"""^\s*(
        select\b.+\bfrom\b | select\s+\w+\s*\( | select\s+(\*|\d|'|\$|distinct\b|exists\b)
      | from\s+[\w."]+(\s+(as\s+)?\w+)?\s+(select|where)\b
      | insert\s+(or\s+\w+\s+)?into\b | replace\s+into\b | merge\s+into\b
      | update\s+[\w."]+\s+set\b | delete\s+from\b | truncate\s+(table\s+)?\w
      | create\s+(or\s+replace\s+)?(temp\s+|temporary\s+|unique\s+)?
            (table|view|index|trigger|macro|function|sequence|schema|type|secret)\b
      | with\s+(recursive\s+)?\w+(\s*\([^)]*\))?\s+as\s*(not\s+)?(materialized\s+)?\(
      | drop\s+(table|view|trigger|index|macro|function|schema|type|sequence)\b
      | alter\s+(table|view)\b | (explain|describe|summarize)\s+(select|from|table|\w+$)
      | pragma\s+\w+ | set\s+\w+\s*= | reset\s+\w+\s*$ | attach\s+(database\s+)?'
      | copy\s+\w+.*\bto\b | copy\s*\( | export\s+database\b | import\s+database\b
      | install\s+\w+\s*;?\s*$ | load\s+(httpfs|json|parquet|spatial|excel|icu|fts|sqlite)\b
      | call\s+\w+\s*\( | values\s*\(\s*('|\$|\?|\d|null\b)
      | (vacuum|checkpoint|analyze)\s*;?\s*$
      | (begin(\s+(immediate|deferred|exclusive|transaction))?|commit|rollback)\s*;?\s*$
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


def _sql_files() -> set[str]:
    return {p.relative_to(SQL).as_posix() for p in SQL.rglob("*.sql")}


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant and f-string (its formatted parts as ``{}``) in ``tree``."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
            out.append((node.lineno, text))
    return out


def statements_in(path: Path) -> list[str]:
    """``file:line: text`` of each SQL statement a Python file holds as a literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    return [
        f"{rel}:{line}: {text.strip()[:60]!r}"
        for line, text in sorted(set(_strings(tree)))
        if STATEMENT.match(text)
    ]


def test_the_scan_finds_statements_in_every_form() -> None:
    for text in (
        "select a from t",
        "  SELECT count(*) FROM x",
        "with x as (select 1) select * from x",
        "create or replace view v as select 1",
        "insert into t values (?)",
        "update t set a = 1",
        "delete from t where a = ?",
        "pragma user_version",
        "set enable_external_access = false",
        "begin immediate",
        "commit",
        "drop table if exists t",
        "from victim_list select person_id",
        "select 1",
        "select * exclude (a) from t",
        "install httpfs",
        "copy (select 1) to 'x.csv'",
        'update "users" set a = 1',
        "describe victim_list",
        "values ('2024-01'), ('2024-02')",
    ):
        assert STATEMENT.match(text), text
    for text in (
        "Select a run to compare",
        "with the scope",
        "update the list",
        "set-password",
        "Load the run",
        "describe the list",
        "Call the team",
        "From the run, select a month",
        "Values (in days)",
    ):
        assert not STATEMENT.match(text), text
    tree = ast.parse('x = f"select {a} from {b}"\ny = "create table t (a int)"')
    assert len([t for _, t in _strings(tree) if STATEMENT.match(t)]) == 2


def test_no_module_under_chi_holds_an_sql_statement() -> None:
    found: list[str] = []
    for path in sorted((ROOT / "chi").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "chi/sql.py":
            continue
        found += statements_in(path)
    assert not found, "SQL belongs in sql/ files:\n" + "\n".join(found)


def test_chi_sql_writes_only_the_statements_that_wrap_a_file_or_a_name() -> None:
    found = statements_in(ROOT / "chi/sql.py")
    wrappers = (
        "create or replace",
        "drop table if exists",
        "drop view if exists",
        "pragma user_version",
    )
    assert found and all(any(w in f for w in wrappers) for f in found), found


def test_sql_readme_lists_exactly_the_files_there() -> None:
    readme = (SQL / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z0-9_]+/[a-z0-9_/]+\.sql)`", readme))
    files = _sql_files()
    assert not named - files, f"README names files that do not exist: {sorted(named - files)}"
    assert not files - named, f"README does not name: {sorted(files - named)}"
    assert "*" not in "".join(re.findall(r"`([^`]*\.sql)`", readme)), "name files, not patterns"


def _sqlite_statements(text: str) -> int:
    """How many statements SQLite reads in ``text`` (a trigger's body is one)."""
    count, buf = 0, ""
    for line in text.splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            count, buf = count + 1, ""
    body = "\n".join(line for line in buf.splitlines() if not line.strip().startswith("--"))
    return count + (1 if body.strip() else 0)


# A template's parts as the test fills them: a quoted name, but where a part is a join list
# (none) or a whole query.
SAMPLE_PARTS = {"joins": "", "check": "select 1"}


def _filled(name: str) -> str:
    """The file's statement, a template's ``{part}`` placeholders filled with sample names."""
    text = sql.load(name.removesuffix(".sql"))
    wanted = sql.placeholders(text)
    if not wanted:
        return text
    parts = {p: SAMPLE_PARTS.get(p, sql.identifier(p)) for p in wanted}
    return sql.fill(name.removesuffix(".sql"), parts)


@pytest.mark.parametrize("name", sorted(_sql_files()))
def test_each_sql_file_holds_one_statement(name: str) -> None:
    text = _filled(name)
    if name.startswith("state/"):  # the state store's SQLite
        assert _sqlite_statements(text) == 1, name
    else:
        assert len(duckdb.extract_statements(text)) == 1, name


def test_one_statement_means_one() -> None:
    assert _sqlite_statements("select 1;\nselect 2") == 2
    assert _sqlite_statements("create trigger t before delete on a\nbegin select 1; end") == 1
    assert len(duckdb.extract_statements("select 1; select 2")) == 2


def test_the_state_store_statements_name_every_field() -> None:
    """The audit and decision statements list their columns; each must be the module's."""
    assert sql.named_parameters(sql.load("state/audit_append")) == {
        "id",
        *AUDIT_FIELDS,
        "prev_hash",
        "hash",
    }
    saved = {"version", "recorded_by", "recorded_at", "source"}
    assert sql.named_parameters(sql.load("state/decision_append")) == {*DECISION_FIELDS, *saved}
    con = sqlite3.connect(":memory:")
    for step in MIGRATIONS:
        if callable(step):
            step(con)
        else:
            for name in step:
                sql.sqlite(con, f"state/migrations/{name}")
    for name, columns in (
        ("audit_log", AUDIT_COLUMNS),
        ("audit_entries", [*AUDIT_COLUMNS, "prev_hash", "hash"]),
        ("decisions", DECISION_COLUMNS),
    ):
        params = dict.fromkeys(sql.named_parameters(sql.load(f"state/{name}")))
        params["limit"] = 1
        cur = sql.sqlite(con, f"state/{name}", params)
        assert [d[0] for d in cur.description] == columns, name


def test_every_sql_file_is_used() -> None:
    """Each file's name (``folder/file``, or its end) appears in the Python that runs it."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "chi").rglob("*.py"))
    unused = []
    for name in sorted(_sql_files()):
        parts = name.removesuffix(".sql").split("/")
        tails = ["/".join(parts[i:]) for i in range(len(parts))]
        if not any(f'"{tail}"' in code for tail in tails):
            unused.append(name)
    assert not unused, f"no module runs: {unused}"


# Scope binding: hostile codes are values, never SQL.

HOSTILE = [
    "'",
    "' OR 1=1 --",
    "x') or true or ('",
    ARBURY + "' --",
    "'; drop table victim_list; --",
    '"',
    "$month",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    fixture: Fixture = shared_fixture(tmp_path_factory)
    return open_run(fixture.runs_dir)


@pytest.mark.parametrize("code", HOSTILE)
def test_a_hostile_neighbourhood_code_matches_nothing_and_raises_nothing(
    run: Run, code: str
) -> None:
    month = run.manifest.months[-1]
    hostile = Scope.of({code})
    for read in (victim_list, victim_briefing, exited, offender_list, dyad_list):
        assert read(run, month, hostile).is_empty(), read.__name__
        mixed = read(run, month, Scope.of({ARBURY, code}))
        arbury = read(run, month, Scope.of({ARBURY}))
        assert mixed.equals(arbury), read.__name__
    assert not victim_list(run, month, Scope.of({ARBURY})).is_empty()
    listed = victim_list(run, month, Scope.force())["person_id"][0]
    assert person_detail(run, listed, month, hostile) is None
    lists, victimisations = scoped_inputs(run, hostile)
    assert lists.is_empty() and victimisations.is_empty()


@pytest.mark.parametrize("person_id", HOSTILE)
def test_a_hostile_person_id_opens_no_person_view(run: Run, person_id: str) -> None:
    month = run.manifest.months[-1]
    assert person_detail(run, person_id, month, Scope.force(), offenders=True) is None


def test_a_hostile_month_matches_nothing(run: Run) -> None:
    for month in ("2024-12' or '1'='1", "' OR 1=1 --"):
        assert exited(run, month, Scope.force()).is_empty()
        assert dyad_list(run, month, Scope.force()).is_empty()
        with pytest.raises(ValueError, match="is not YYYY-MM"):
            victim_list(run, month, Scope.force())


def test_a_missing_parameter_is_named_before_duckdb_sees_the_query() -> None:
    con = duckdb.connect()
    with pytest.raises(KeyError, match="needs parameter"):
        sql.run(con, "read/person_listings", {"pid": "P1"})


def test_a_template_takes_exactly_its_parts() -> None:
    with pytest.raises(KeyError, match="takes parts"):
        sql.fill("checks/valid_view", {"columns": sql.identifier("a")})
    with pytest.raises(KeyError, match="takes parts"):
        sql.fill("checks/valid_view", {"columns": '"a"', "checked": '"t"', "extra": '"x"'})
    filled = sql.fill("checks/valid_view", {"columns": '"a"', "checked": '"t"'})
    assert filled.strip() == 'select "a", _file, _row from "t"'


def test_the_generated_checks_bind_every_value() -> None:
    """Reasons, allowed values, bounds and dates reach DuckDB as parameters: a quote in any
    of them is only text, and a column's name is only ever a quoted name."""
    con = duckdb.connect()
    for macro in sql.CHECK_MACROS:
        sql.run(con, macro)
    con.sql(
        """create table "src it's" as select * from (values
        ('a''b', 5, '1899-12-31'::date, 1, 'x'), ('c', 9, '2000-01-01'::date, 2, 'x'),
        (null, null, null, 3, 'x')) v("o'col", n, d, _row, _file)"""
    )
    rules = [
        sql.Rule("o'col", "blank", ("o'col",), (), "it's missing", None),
        sql.Rule("o'col", "not_allowed", ("o'col",), (["a'b", "x"],), "not 'a'b'", "o'col"),
        sql.Rule("n", "out_of_range", ("n",), (1, 8), "out of range 1-8'", "n"),
        sql.Rule("d", "before", ("d",), (date(1900, 1, 1),), "before '1900", "d"),
    ]
    sql.create_checked(con, "checked", "src it's", ["o'col", "n", "d"], rules, [])
    got = con.sql("select _row, _fails from checked order by _row").fetchall()
    assert got == [
        (1, [{"column_name": "d", "reason": "before '1900", "value": "1899-12-31"}]),
        (
            2,
            [
                {"column_name": "o'col", "reason": "not 'a'b'", "value": "c"},
                {"column_name": "n", "reason": "out of range 1-8'", "value": "9"},
            ],
        ),
        (3, [{"column_name": "o'col", "reason": "it's missing", "value": None}]),
    ]


def test_table_from_arrow_replaces_and_every_cursor_sees_it() -> None:
    con = duckdb.connect()
    sql.table_from_arrow(con, "t", pl.DataFrame({"a": [1, 2]}).to_arrow())
    sql.table_from_arrow(con, "t", pl.DataFrame({"a": [3]}).to_arrow())
    assert con.cursor().sql("from t").fetchall() == [(3,)]


def test_the_state_store_loads_its_sql_without_duckdb() -> None:
    """Sign-in processes open the store; its SQL loader must not pull DuckDB or Arrow in."""
    code = "import sys, chi.state.store; print(sorted({'duckdb', 'pyarrow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
