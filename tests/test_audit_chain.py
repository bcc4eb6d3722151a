"""The audit log is tamper-evident (store and command line): entries are chained by hash,
``insert or replace``, updates, deletes and inserts out of order are refused by the store,
and ``chi audit verify`` names the first broken link of a log changed behind its back
(exit 1); ``chi export`` writes its audit entry like a download from the app."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from app_fixtures import shared_fixture
from typer.testing import CliRunner

from chi.cli import app
from chi.meetings.decisions import Decision, save_decision
from chi.state.audit import _entry_hash
from chi.state.store import Store

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "chi.toml"
    path.write_text('[app]\nstate_path = "state.sqlite"\n', encoding="utf-8")
    monkeypatch.setenv("CHI_CONFIG", str(path))
    return path


def filled(config: Path) -> Store:
    store = Store(config.parent / "state.sqlite")
    store.record("amy", "sign_in")
    store.record("amy", "download", run_id="R1", month="2024-12", scope="E05013051", rows=7)
    save_decision(
        store,
        Decision("victim", "V1", "2024-11", "North", date(2024, 11, 20), "no_further_action"),
        based_on=0,
        recorded_by="amy",
    )
    store.record("bob", "list_view", rows=3)
    return store


def verify() -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify"])
    return result.exit_code, result.output


def test_an_untouched_log_verifies(config: Path) -> None:
    store = filled(config)
    check = store.verify_audit()
    assert check.ok and check.entries == 4
    code, out = verify()
    assert code == 0, out
    assert f"4 entries; latest hash {check.head}" in out
    with sqlite3.connect(store.path) as con:
        rows = con.execute("select id, prev_hash, hash from audit order by id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert rows[0][1] == "" and all(rows[i][1] == rows[i - 1][2] for i in range(1, 4))


def test_insert_or_replace_update_delete_and_out_of_order_inserts_are_refused(
    config: Path,
) -> None:
    store = filled(config)
    with sqlite3.connect(store.path) as con:
        row = con.execute("select * from audit where id = 2").fetchone()
        cols = [d[0] for d in con.execute("select * from audit").description]
        values = dict(zip(cols, row, strict=True)) | {"username": "mallory"}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        for verb in ("insert or replace", "replace", "insert"):
            with pytest.raises(sqlite3.DatabaseError, match="end of the chain"):
                con.execute(f"{verb} into audit ({names}) values ({marks})", list(values.values()))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("update audit set username = 'mallory' where id = 2")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("delete from audit where id = 4")
        # An entry at the end without the chain: no hash, or a wrong previous hash.
        with pytest.raises(sqlite3.DatabaseError, match="end of the chain"):
            con.execute("insert into audit (at, username, action) values ('x', 'mallory', 'x')")
        with pytest.raises(sqlite3.DatabaseError, match="end of the chain"):
            con.execute(
                "insert into audit (id, at, username, action, prev_hash, hash)"
                " values (5, 'x', 'mallory', 'x', ?, ?)",
                ("0" * 64, "1" * 64),
            )
    assert store.verify_audit().ok and store.verify_audit().entries == 4


def tamper(store: Store, *statements: str) -> None:
    """Change the log as someone with the file could: triggers dropped, rows rewritten."""
    with sqlite3.connect(store.path) as con:
        con.execute("drop trigger audit_no_update")
        con.execute("drop trigger audit_no_delete")
        con.execute("drop trigger audit_chained")
        for s in statements:
            con.execute(s)


@pytest.mark.parametrize(
    ("statements", "entry", "words"),
    [
        (["update audit set username = 'mallory' where id = 2"], 2, "content was changed"),
        (["update audit set rows = 700 where id = 2"], 2, "content was changed"),
        (["delete from audit where id = 2"], 3, "entry 2 is missing"),
        (["delete from audit where id in (2, 3)"], 4, "entries 2 to 3 are missing"),
        (["update audit set id = 9 where id = 4"], 9, "entries 4 to 8 are missing"),
        (["update audit set prev_hash = hash where id = 3"], 3, "does not follow"),
        (["update audit set detail = cast(detail as blob) where id = 3"], 3, "content was"),
        (["update audit set rows = 7.5 where id = 2"], 2, "content was changed"),
        (
            [
                "insert into audit (id, at, username, action, prev_hash, hash)"
                " values (0, 'x', 'y', 'z', '', '')"
            ],
            0,
            "an entry numbered 0 stands where entry 1 should",
        ),
    ],
)
def test_verify_names_the_first_broken_link(
    config: Path, statements: list[str], entry: int, words: str
) -> None:
    store = filled(config)
    tamper(store, *statements)
    check = store.verify_audit()
    assert not check.ok and check.broken_at == entry and words in check.problem
    code, out = verify()
    assert code == 1
    assert f"broken at entry {entry}: " in out and words in out


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(config: Path) -> None:
    store = filled(config)
    with sqlite3.connect(store.path) as con:
        prev = con.execute("select prev_hash from audit where id = 2").fetchone()[0]
    fields = {"at": "2025-01-01T00:00:00Z", "username": "mallory", "action": "download"}
    forged = _entry_hash(prev, 2, fields)
    tamper(
        store,
        f"update audit set at = '{fields['at']}', username = 'mallory', action = 'download',"
        f" run_id = null, month = null, scope = null, rows = null, hash = '{forged}'"
        " where id = 2",
    )
    check = store.verify_audit()
    assert check.broken_at == 3 and "does not follow" in check.problem


def test_an_older_store_is_chained_when_opened(tmp_path: Path) -> None:
    from chi import sql
    from chi.state.store import MIGRATIONS

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        for step in MIGRATIONS[:3]:
            assert isinstance(step, tuple)
            for name in step:
                sql.sqlite(con, f"state/migrations/{name}")
        con.execute("pragma user_version = 3")
        for who in ("amy", "bob"):
            con.execute(
                "insert into audit (at, username, action) values ('2025-01-01T00:00:00Z', ?, 'x')",
                (who,),
            )
    store = Store(path)
    assert store.verify_audit().entries == 2
    store.record("cy", "sign_in")
    assert store.verify_audit().ok and store.verify_audit().entries == 3


def test_chi_export_writes_an_audit_entry(
    config: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fixture = shared_fixture(tmp_path_factory)
    month = fixture.months[-1]
    out = config.parent / "list.csv"
    result = runner.invoke(
        app,
        ["export", str(fixture.runs_dir), "--month", month, "--area", "North", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    rows = int(result.output.split()[0])
    store = Store(config.parent / "state.sqlite")
    (entry,) = store.audit_log(actions=["download"])
    assert entry["username"].startswith("cli")
    assert entry["run_id"] == fixture.run_id and entry["month"] == month
    assert entry["rows"] == rows and entry["detail"] == "cli csv"
    assert store.verify_audit().ok


@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        ({"rows": 5, "month": 202406}, (5, "202406")),
        ({"detail": 1.0, "month": "2024-06"}, (None, "2024-06")),
    ],
)
def test_an_entry_verifies_whatever_python_types_it_was_given(
    config: Path, fields: dict[str, object], stored: tuple[object, str]
) -> None:
    """The hash is of the values as the table stores them, so a caller passing a number where
    text is stored (or the reverse) does not break the chain."""
    store = Store(config.parent / "state.sqlite")
    store.record("amy", "download", **fields)  # type: ignore[arg-type]
    assert store.verify_audit().ok
    [entry] = store.audit_log(username="amy")
    assert (entry["rows"], entry["month"]) == stored


def test_a_row_count_that_is_not_a_whole_number_is_refused(config: Path) -> None:
    from chi.state.store import StoreError

    store = Store(config.parent / "state.sqlite")
    for bad in ("5", True, 2.5):
        with pytest.raises(StoreError, match="rows must be a whole number"):
            store.record("amy", "download", rows=bad)  # type: ignore[arg-type]
    assert store.verify_audit().ok and store.audit_log() == []
