"""External anchors of the audit log (command line and server): a log cut off at its end,
or cut and refilled, or rebuilt whole, still forms a good chain, but no longer matches the
heads recorded outside the store; ``chi audit verify --anchor`` names the missing or
rewritten entries (exit 1), and the app writes the head to its server log and anchor file
at start-up, periodically and at shutdown."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_fixtures import make_app_env, shared_fixture
from typer.testing import CliRunner

from chi.cli import app
from chi.state.store import Store

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
HEAD = re.compile(
    r"^\d{4}-\d\d-\d\dT[\d:.]+Z chi-audit-anchor store=(?:[0-9a-f]{16}|-) entries=(\d+)"
    r" hash=([0-9a-f]{64})$"
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "chi.toml"
    path.write_text('[app]\nstate_path = "state.sqlite"\n', encoding="utf-8")
    monkeypatch.setenv("CHI_CONFIG", str(path))
    return path


def filled(config: Path, n: int = 4) -> Store:
    store = Store(config.parent / "state.sqlite")
    for i in range(n):
        store.record("amy", "list_view", rows=i)
    return store


def chi(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def cut(store: Store, statement: str) -> None:
    """Change the log as someone with the file could: triggers dropped, rows removed."""
    with sqlite3.connect(store.path) as con:
        for trigger in ("audit_no_update", "audit_no_delete", "audit_chained"):
            con.execute(f"drop trigger {trigger}")
        con.execute(statement)


def test_anchor_prints_and_appends_the_head(config: Path, tmp_path: Path) -> None:
    store = filled(config)
    head = store.verify_audit().head
    anchors = tmp_path / "elsewhere" / "anchors.log"
    anchors.parent.mkdir()
    code, out = chi("audit", "anchor", "--to", str(anchors))
    assert code == 0, out
    match = HEAD.match(out.strip())
    assert match and match.groups() == ("4", head)
    store.record("amy", "sign_in")
    assert chi("audit", "anchor", "--to", str(anchors))[0] == 0
    lines = anchors.read_text().splitlines()
    assert [HEAD.match(x).group(1) for x in lines] == ["4", "5"]  # type: ignore[union-attr]
    code, out = chi("audit", "verify", "--anchor", str(anchors))
    assert code == 0, out
    assert "intact: 5 entries" in out and "matches 2 anchors" in out


@pytest.mark.parametrize(
    ("kept", "words"),
    [
        (4, "entry 5 is missing: the log ends at entry 4"),
        (2, "entries 3 to 5 are missing: the log ends at entry 2"),
        (0, "entries 1 to 5 are missing: the log ends at entry 0"),
    ],
)
def test_a_log_cut_off_at_its_end_verifies_alone_but_not_against_its_anchor(
    config: Path, tmp_path: Path, kept: int, words: str
) -> None:
    store = filled(config, 5)
    anchors = tmp_path / "anchors.log"
    assert chi("audit", "anchor", "--to", str(anchors))[0] == 0
    cut(store, f"delete from audit where id > {kept}")
    code, out = chi("audit", "verify")
    assert code == 0 and f"intact: {kept} entries" in out, "the chain alone cannot tell"
    code, out = chi("audit", "verify", "--anchor", str(anchors))
    assert code == 1
    assert words in out and "recorded 5 entries" in out and "anchors.log line 1" in out


def test_a_log_cut_and_refilled_past_its_anchor_is_rewritten(config: Path, tmp_path: Path) -> None:
    store = filled(config, 4)
    anchors = tmp_path / "anchors.log"
    chi("audit", "anchor", "--to", str(anchors))  # entries=4
    store.record("amy", "download", rows=9)
    chi("audit", "anchor", "--to", str(anchors))  # entries=5
    # Entries 3 to 5 removed, then three others chained on: a good chain of 5 again.
    cut(store, "delete from audit where id > 2")
    with sqlite3.connect(store.path) as con:
        last = con.execute("select hash from audit where id = 2").fetchone()[0]
    from chi.state.audit import AUDIT_FIELDS, _entry_hash

    prev = last
    with sqlite3.connect(store.path) as con:
        for entry_id in (3, 4, 5):
            fields = {"at": "2025-01-01T00:00:00Z", "username": "mallory", "action": "sign_in"}
            digest = _entry_hash(prev, entry_id, fields)
            con.execute(
                f"insert into audit (id, {', '.join(AUDIT_FIELDS)}, prev_hash, hash) values"
                f" (?, {', '.join('?' for _ in AUDIT_FIELDS)}, ?, ?)",
                [entry_id, *(fields.get(k) for k in AUDIT_FIELDS), prev, digest],
            )
            prev = digest
    assert chi("audit", "verify")[0] == 0, "a good chain of 5 entries"
    code, out = chi("audit", "verify", "--anchor", str(anchors))
    assert code == 1
    assert "entry 4 is not the one the anchor of" in out and "line 1" in out
    assert "rewritten at or before entry 4" in out


def test_the_configured_anchor_file_is_the_default(config: Path, tmp_path: Path) -> None:
    config.write_text(
        '[app]\nstate_path = "state.sqlite"\n[audit]\nanchor_file = "anchors.log"\n',
        encoding="utf-8",
    )
    store = filled(config, 3)
    code, out = chi("audit", "verify")
    assert code == 1 and "anchors.log ([audit] anchor_file) is missing" in out
    assert chi("audit", "anchor")[0] == 0
    assert HEAD.match((tmp_path / "anchors.log").read_text().strip())
    code, out = chi("audit", "verify")
    assert code == 0 and "matches 1 anchor in" in out
    cut(store, "delete from audit where id = 3")
    code, out = chi("audit", "verify")
    assert code == 1 and "entry 3 is missing" in out


def test_a_server_log_is_read_as_an_anchor_file(config: Path, tmp_path: Path) -> None:
    store = filled(config, 3)
    head = store.verify_audit().head
    log = tmp_path / "server.log"
    log.write_text(
        "INFO:     Started server process [4242]\n"
        f"chi: 2026-01-02T03:04:05Z chi-audit-anchor entries=3 hash={head}\n"
        "INFO:     Application startup complete.\n"
        "chi: 2026-01-02T03:00:00Z chi-audit-anchor entries=0 hash=-\n",
        encoding="utf-8",
    )
    code, out = chi("audit", "verify", "--anchor", str(log))
    assert code == 0 and "matches 2 anchors" in out, out
    cut(store, "delete from audit where id = 3")
    code, out = chi("audit", "verify", "--anchor", str(log))
    assert code == 1 and "entry 3 is missing" in out and "of 2026-01-02T03:04:05Z" in out
    # A line that mentions the mark but is no whole anchor line is skipped; a file with no
    # anchor of this log at all is a failure, not a pass.
    log.write_text("chi-audit-anchor entries=x hash=y\n", encoding="utf-8")
    code, out = chi("audit", "verify", "--anchor", str(log))
    assert code == 1 and "server.log holds no anchor of this audit log" in out
    code, out = chi("audit", "verify", "--anchor", str(tmp_path / "none.log"))
    assert code == 2 and "cannot be read" in out


def test_a_broken_chain_is_not_anchored(config: Path, tmp_path: Path) -> None:
    store = filled(config, 3)
    cut(store, "update audit set username = 'mallory' where id = 2")
    code, out = chi("audit", "anchor", "--to", str(tmp_path / "anchors.log"))
    assert code == 1 and "broken at entry 2" in out and "no anchor written" in out
    assert not (tmp_path / "anchors.log").exists()


def test_the_server_anchors_at_start_periodically_and_at_shutdown(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    extra = '[audit]\nanchor_file = "anchors.log"\nanchor_minutes = 0.02\n'  # 1.2 seconds
    env = make_app_env(tmp_path, shared_fixture(tmp_path_factory), extra=extra)
    store = Store(env.root / "state.sqlite")
    store.record("amy", "sign_in")
    log = tmp_path / "server.log"
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "chi.app.serve:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "CHI_CONFIG": str(env.config)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    anchors = env.root / "anchors.log"
    try:
        deadline = time.monotonic() + 90
        while not anchors.is_file() or len(anchors.read_text().splitlines()) < 2:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        store.record("amy", "list_view", rows=3)
        count = len(anchors.read_text().splitlines())
        while len(anchors.read_text().splitlines()) < count + 1:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    lines = anchors.read_text().splitlines()
    counts = [int(HEAD.match(x).group(1)) for x in lines]  # type: ignore[union-attr]
    assert counts[0] == 1 and counts[-1] == 2, counts
    assert counts == sorted(counts) and len(counts) >= 4, "start, periodic, shutdown"
    text = log.read_text()
    assert all(f"chi: {x}" in text for x in lines), "the same lines in the server log"
    assert "chi warning: no maintained breached-password check" in text
    code, out = chi("audit", "verify", "--anchor", str(log), "--config", str(env.config))
    assert code == 0 and f"matches {len(lines)} anchors" in out, out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the hostile tester's report (t12, 7) -----------------------------------------------


def _configure(config: Path, key: bool = False) -> None:
    text = '[app]\nstate_path = "state.sqlite"\n[audit]\nanchor_file = "anchors.log"\n'
    if key:
        (config.parent / "anchor.key").write_text("s3cret-anchor-key-of-the-force\n")
        text += 'anchor_key_file = "anchor.key"\n'
    config.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("replacement", ["", "INFO: nothing to see\n"])
def test_an_emptied_or_replaced_anchor_file_is_a_failure(
    config: Path, tmp_path: Path, replacement: str
) -> None:
    _configure(config)
    store = filled(config, 5)
    assert chi("audit", "anchor")[0] == 0
    cut(store, "delete from audit where id > 2")
    (tmp_path / "anchors.log").write_text(replacement)  # the attacker hides the anchor
    code, out = chi("audit", "verify")
    assert code == 1 and "anchors.log holds no anchor of this audit log" in out, out


def test_foreign_lines_that_mention_the_mark_are_skipped(config: Path, tmp_path: Path) -> None:
    _configure(config)
    filled(config, 3)
    assert chi("audit", "anchor")[0] == 0
    with (tmp_path / "anchors.log").open("a") as f:
        f.write('INFO: 10.0.0.9 - "GET /chi-audit-anchor HTTP/1.1" 404 Not Found\n')
        f.write("note: chi-audit-anchor entries=99 was discussed in the meeting\n")
        # Another store's anchor (a shared log server): not this log's, so no alarm.
        f.write(
            f"2026-01-01T00:00:00Z chi-audit-anchor store={'ab' * 8} entries=99 hash={'c' * 64}\n"
        )
    code, out = chi("audit", "verify")
    assert code == 0 and "matches 1 anchor (and 1 of other stores, skipped)" in out, out
    # The same line as `chi audit anchor | logger -t chi-audit` puts it in syslog counts.
    own = (tmp_path / "anchors.log").read_text().splitlines()[0]
    syslog = tmp_path / "syslog"
    syslog.write_text(f"Dec  2 01:00:00 chi-host chi-audit: {own}\r\n")
    code, out = chi("audit", "verify", "--anchor", str(syslog))
    assert code == 0 and "matches 1 anchor in" in out, out


def test_signed_anchors_trust_no_forged_line(config: Path, tmp_path: Path) -> None:
    _configure(config, key=True)
    store = filled(config, 4)
    code, out = chi("audit", "anchor")
    assert code == 0 and re.search(r" mac=[0-9a-f]{64}$", out.strip()), out
    line = (tmp_path / "anchors.log").read_text().strip()
    # A well-formed line without the key's mac (or with a wrong one) raises no alarm.
    forged = line.split(" mac=")[0].replace("entries=4", "entries=40")
    with (tmp_path / "anchors.log").open("a") as f:
        f.write(forged + "\n" + forged + " mac=" + "0" * 64 + "\n")
    code, out = chi("audit", "verify")
    assert code == 0 and "matches 1 anchor" in out and "2 unsigned anchor lines skipped" in out
    cut(store, "delete from audit where id > 2")
    code, out = chi("audit", "verify")
    assert code == 1 and "entries 3 to 4 are missing" in out, out
    # Only forged lines left: no anchor of this log, a failure.
    (tmp_path / "anchors.log").write_text(forged + "\n")
    code, out = chi("audit", "verify")
    assert code == 1 and "holds no anchor" in out and "1 are not signed" in out, out


def test_a_log_rebuilt_from_its_first_entry_matches_no_anchor(config: Path, tmp_path: Path) -> None:
    _configure(config)
    store = filled(config, 3)
    assert chi("audit", "anchor")[0] == 0
    # Everything removed and a fresh chain written: a good chain, another store id.
    cut(store, "delete from audit")
    fresh = Store(store.path)
    for i in range(5):
        fresh.record("mallory", "sign_in", rows=i)
    assert chi("audit", "verify", "--anchor", str(tmp_path / "none.log"))[0] == 2
    code, out = chi("audit", "verify")
    assert code == 1 and "holds no anchor of this audit log (1 name another store" in out, out


def test_a_short_anchor_key_is_one_clear_line(config: Path, tmp_path: Path) -> None:
    _configure(config, key=True)
    (tmp_path / "anchor.key").write_text("short\n")
    filled(config, 1)
    code, out = chi("audit", "anchor")
    assert code == 2 and "anchor key is shorter than 16 bytes" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.parametrize("key", [False, True])
@pytest.mark.parametrize("damage", ["cut30", "cut1", "garbled", "json"])
def test_a_damaged_newest_anchor_line_fails_naming_it(
    config: Path, tmp_path: Path, key: bool, damage: str
) -> None:
    """The tester's case: the log cut 15 -> 10 and the newest anchor line damaged, which was
    skipped silently ("matches 1 anchor", exit 0)."""
    _configure(config, key=key)
    store = filled(config, 10)
    assert chi("audit", "anchor")[0] == 0
    for _ in range(5):
        store.record("amy", "list_view")
    assert chi("audit", "anchor")[0] == 0
    path = tmp_path / "anchors.log"
    first, newest = path.read_text().splitlines()
    newest = {
        "cut30": newest[:-30],
        "cut1": newest[:-1],
        "garbled": newest.replace("entries=15", "entries=1S"),
        "json": '{"log":"chi: ' + newest + '\\n","stream":"stderr"}',
    }[damage]
    path.write_text(f"{first}\n{newest}\n")
    cut(store, "delete from audit where id > 10")
    code, out = chi("audit", "verify")
    assert code == 1, out
    assert "anchors.log line 2 looks like an audit anchor" in out
    assert "but is not a whole one" in out and "Traceback" not in out


def test_a_trailing_space_does_not_hide_a_cut(config: Path, tmp_path: Path) -> None:
    _configure(config, key=True)
    store = filled(config, 15)
    assert chi("audit", "anchor")[0] == 0
    path = tmp_path / "anchors.log"
    path.write_text(path.read_text().rstrip("\n") + "  \t\n")
    assert chi("audit", "verify")[0] == 0
    cut(store, "delete from audit where id > 10")
    code, out = chi("audit", "verify")
    assert code == 1 and "entries 11 to 15 are missing" in out, out
