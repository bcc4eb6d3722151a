"""External anchors of the audit log: the chain's head, kept where the state store is not.

The hash chain (``chi.state.audit``) shows any entry changed, removed or moved, but not the
*newest* entries cut off: a log truncated after entry 40 is a perfectly good chain of 40
entries. So the head (how many entries, and the last one's hash) is written out of the
store, and a later check compares the chain with every head recorded:

- ``chi audit anchor`` prints the head as one line and appends it to a file
  (``--to FILE``, default ``[audit] anchor_file``); the app writes the same line to its
  server log (standard error) at start-up, every ``[audit] anchor_minutes`` and at shutdown,
  and appends it to ``anchor_file`` when one is configured.
- ``chi audit verify --anchor FILE`` (default: the configured ``anchor_file``) reads every
  anchor line in FILE (other lines are skipped, so a server log or a syslog export can be
  given as it is) and fails when the chain is shorter than a recorded head (naming the
  missing entries) or its entry at a recorded head has another hash (rewritten).

An anchor line holds a time, a count and a hash: nothing about anyone. It defends as far as
the place it is kept is out of reach of whoever can write the store (the force's log
server, a write-once share, a printed daily line).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from chi.state.db import timestamp, utc_now
from chi.state.store import AuditCheck, Store, StoreError

MARK = "chi-audit-anchor"
_LINE = re.compile(MARK + r" entries=(\d+) hash=([0-9a-f]{64}|-)(?:\s|$)")
_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


@dataclass(frozen=True)
class Anchor:
    entries: int
    head: str
    """The hash of entry ``entries`` (empty for an empty log)."""
    at: str
    where: str
    """``FILE line N``, for messages."""


def anchor_line(check: AuditCheck, now: datetime | None = None) -> str:
    """The head of an intact chain as one line: ``TIME chi-audit-anchor entries=N hash=H``."""
    return f"{timestamp(utc_now(now))} {MARK} entries={check.entries} hash={check.head or '-'}"


def append_anchor(path: Path, line: str) -> None:
    """Append ``line`` to the anchor file (created if missing), flushed to disk."""
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor line in ``path``; lines without the mark are skipped, a marked line that
    does not parse is an error naming the file and line."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline=None) as f:
            return _anchors(path, f)
    except OSError as exc:
        raise StoreError(f"{path}: the anchor file cannot be read ({type(exc).__name__})") from None


def _anchors(path: Path, lines: Iterable[str]) -> list[Anchor]:
    out: list[Anchor] = []
    for number, line in enumerate(lines, start=1):  # line by line: a server log may be long
        if MARK not in line:
            continue
        match = _LINE.search(line)
        if match is None:
            raise StoreError(
                f"{path} line {number}: not an anchor line "
                f"('{MARK} entries=N hash=64 hex characters')"
            )
        at = _AT.search(line[: match.start()])
        head = "" if match.group(2) == "-" else match.group(2)
        out.append(
            Anchor(int(match.group(1)), head, at.group(0) if at else "?", f"{path} line {number}")
        )
    return out


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def anchor_problems(store: Store, check: AuditCheck, anchors: list[Anchor]) -> list[str]:
    """How an intact chain (``check``) disagrees with the recorded heads: entries missing at
    its end, or an entry whose hash is not the one recorded. Empty: it agrees with all."""
    if not check.ok:
        raise ValueError("anchors are compared with an intact chain only")
    problems: list[str] = []
    beyond = [a for a in anchors if a.entries > check.entries]
    if beyond:
        last = max(beyond, key=lambda a: a.entries)
        first = check.entries + 1
        missing = f"entries {first} to {last.entries} are"
        if first == last.entries:
            missing = f"entry {first} is"
        problems.append(
            f"{missing} missing: the log ends at entry {check.entries}, but the anchor of "
            f"{last.at} ({last.where}) recorded {_entries(last.entries)}"
        )
    within = [a for a in anchors if 0 < a.entries <= check.entries]
    hashes = store.audit_hashes(sorted({a.entries for a in within}))
    for a in sorted(within, key=lambda a: a.entries):
        if hashes.get(a.entries) != a.head:
            problems.append(
                f"entry {a.entries} is not the one the anchor of {a.at} ({a.where}) recorded: "
                f"the log was rewritten at or before entry {a.entries}"
            )
            break  # the first rewritten head; later ones follow from it
    return problems


def anchor_now(store: Store, path: Path | None, log: TextIO) -> str | None:
    """Write the head to ``log`` (the server log) and append it to ``path`` if given; a
    broken chain is reported instead and anchors nothing. Never raises: the server goes on."""
    try:
        check = store.verify_audit()
        if not check.ok:
            print(
                f"chi: the audit log is broken at entry {check.broken_at}: {check.problem}; "
                "no anchor written",
                file=log,
                flush=True,
            )
            return None
        line = anchor_line(check)
        print(f"chi: {line}", file=log, flush=True)
        if path is not None:
            append_anchor(path, line)
        return line
    except (OSError, StoreError, sqlite3.Error) as exc:
        to = f" to {path}" if path is not None else ""
        print(f"chi: no audit anchor written{to} ({type(exc).__name__})", file=log, flush=True)
        return None


async def keep_anchoring(
    store: Store, path: Path | None, minutes: float, stop: asyncio.Event, log: TextIO
) -> None:
    """Anchor now, every ``minutes``, and once more when ``stop`` is set (shutdown)."""
    while True:
        await asyncio.to_thread(anchor_now, store, path, log)
        try:
            await asyncio.wait_for(stop.wait(), timeout=minutes * 60)
        except TimeoutError:
            continue
        await asyncio.to_thread(anchor_now, store, path, log)
        return
