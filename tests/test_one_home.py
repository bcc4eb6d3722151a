"""One home for each job (issue 10): a file's checksum, "the extract is unchanged since the
run", a Home Office class's spelling, a person's age and each part of the state store
(database, accounts, sessions, audit log) are each written once, and every caller uses that
one. Each test checks the rule against hand-computed cases and then that no second copy of
it has come back into ``chi/`` or ``sql/``."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from chi import sql
from chi.contract import file_sha256
from chi.generate.sources import load_sources
from chi.offences import normal_ho_class
from chi.scoring.runs import file_changes

ROOT = Path(__file__).resolve().parents[1]


def _sources(folder: str, suffix: str) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / folder).rglob(f"*{suffix}"))}


def test_file_sha256_reads_in_blocks_and_agrees_with_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (5 * 4096 + 7)  # over five 1 MiB blocks, not a whole number
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha256(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_no_second_file_checksum_in_chi() -> None:
    copies = [
        str(p.relative_to(ROOT))
        for p, text in _sources("chi", ".py").items()
        if p.name != "contract.py"
        and (re.search(r"read_bytes\(\)\)\.hexdigest", text) or "iter(lambda: fh.read" in text)
    ]
    assert copies == []


def _f(table: str, file: str, sha: str) -> dict[str, str]:
    return {"table": table, "file": file, "sha256": sha}


def test_file_changes_names_every_missing_new_and_changed_file() -> None:
    then = [_f("crimes", "crimes.parquet", "a"), _f("persons", "persons.parquet", "b")]
    assert file_changes(then, list(reversed(then))) == [], "order does not matter"
    now = [
        _f("crimes", "crimes.parquet", "A"),
        _f("victims", "victims.parquet", "c"),
        _f("crimes", "crimes_2.parquet", "d"),
    ]
    assert file_changes(then, now) == [
        "persons.parquet (persons) is missing",
        "crimes_2.parquet (crimes) is new",
        "victims.parquet (victims) is new",
        "crimes.parquet (crimes) changed",
    ]


def test_no_second_extract_comparison_in_chi() -> None:
    copies = [
        str(p.relative_to(ROOT))
        for p, text in _sources("chi", ".py").items()
        if "for f in p.extract.files_manifest()}" in text
        or "for f in current.files_manifest()}" in text
    ]
    assert copies == []


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 6, 30), date(2024, 6, 29), 23),
        (date(2000, 6, 30), date(2024, 6, 30), 24),
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2010, 12, 31), date(2010, 12, 31), 0),
        (None, date(2024, 1, 1), None),
    ],
)
def test_age_years_macro(birth: date | None, on: date, age: int | None) -> None:
    con = duckdb.connect()
    sql.create_macros(con)
    got = con.sql(
        "select age_years(cast($birth as date), cast($on as date))",
        params={"birth": birth, "on": on},
    ).fetchall()
    assert got == [(age,)]


def test_age_is_computed_by_the_macro_only() -> None:
    texts = {**_sources("chi", ".py"), **_sources("sql", ".sql")}
    copies = [
        str(p.relative_to(ROOT))
        for p, text in texts.items()
        if "date_diff('year'" in text and p.name != "age_macro.sql"
    ]
    assert copies == []


def test_the_generator_spells_classes_as_the_scoring_does() -> None:
    src = load_sources()
    for row in src.weights.values():
        assert row.ho_class is None or row.ho_class == normal_ho_class(row.ho_class)
    # The weight files write attempted murder's class slash-less (00200); the staging SQL
    # (norm_ho_class) reads it as 002/00, and so does the generator now.
    assert src.weights["1.1.1.1A"].ho_class == "002/00"
    assert not any("_canonical_ho_class" in t for t in _sources("chi", ".py").values())


def test_the_store_is_its_parts() -> None:
    """The state store is split by job (issue 10): the database and migrations, accounts,
    sessions, audit log; the Store the app holds is the four together, and holds no SQL."""
    from chi.state import audit, db
    from chi.state.accounts import Accounts
    from chi.state.audit import AuditLog
    from chi.state.db import Database
    from chi.state.sessions import Sessions
    from chi.state.store import Store

    assert Store.__mro__[1:5] == (Accounts, Sessions, AuditLog, Database)
    homes = {
        "add_user": Accounts,
        "set_password": Accounts,
        "check_password": Accounts,
        "start_session": Sessions,
        "touch_session": Sessions,
        "end_session": Sessions,
        "record": AuditLog,
        "verify_audit": AuditLog,
        "audit_hashes": AuditLog,
        "audit_log": AuditLog,
        "connection": Database,
        "transaction": Database,
        "schema_version": Database,
    }
    for name, part in homes.items():
        assert name in vars(part), name
        assert [c.__name__ for c in Store.__mro__ if name in vars(c)] == [part.__name__], name
    for name in ("append_audit", "verify_chain", "chain_audit", "_entry_hash", "AUDIT_COLUMNS"):
        assert hasattr(audit, name), name
    for name in ("timestamp", "utc_now", "parse_timestamp", "StoreError", "SQL_MIGRATIONS"):
        assert hasattr(db, name), name
    facade = (ROOT / "chi" / "state" / "store.py").read_text(encoding="utf-8")
    assert not re.search(
        r"\b(create table|insert into|select .+ from|update \w+ set|delete from)\b", facade
    )
    assert not re.search(r"\b(q|sql\.\w+|execute)\(", facade)


def test_each_part_of_the_store_is_written_once() -> None:
    """No second definition of a store helper in ``chi/`` (a copied ``timestamp`` or audit
    hash), and nothing imports from ``chi.state.store`` what is not the store's own to give
    (its ``__all__``): helpers come from their homes."""
    import ast

    from chi.state import store

    defined: dict[str, list[str]] = {}
    for p, text in _sources("chi", ".py").items():
        for name in ("timestamp", "utc_now", "parse_timestamp", "append_audit", "_entry_hash"):
            if re.search(rf"^def {name}\(", text, re.MULTILINE):
                defined.setdefault(name, []).append(p.relative_to(ROOT).as_posix())
    assert defined == {
        "timestamp": ["chi/state/db.py"],
        "utc_now": ["chi/state/db.py"],
        "parse_timestamp": ["chi/state/db.py"],
        "append_audit": ["chi/state/audit.py"],
        "_entry_hash": ["chi/state/audit.py"],
    }
    wrong = []
    for p, text in {**_sources("chi", ".py"), **_sources("tests", ".py")}.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "chi.state.store":
                wrong += [
                    f"{p.relative_to(ROOT)}: {a.name}"
                    for a in node.names
                    if a.name not in store.__all__
                ]
    assert wrong == []
