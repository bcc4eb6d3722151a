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
  anchor line in FILE and fails when the chain is shorter than a recorded head (naming the
  missing entries), its entry at a recorded head has another hash (rewritten), or FILE holds
  no anchor of this log at all while the log has entries (emptied or replaced).

An anchor line is a whole line (after an optional ``chi: `` or syslog ``...: `` prefix)::

    TIME chi-audit-anchor store=SID entries=N hash=H [mac=M]

``SID`` names the store: the first 16 hex characters of its first entry's hash (``-`` while
the log is empty), so anchors of another store (or of this one rebuilt from its first entry)
are not this log's. ``M`` is HMAC-SHA256 over the rest of the line with the secret in
``[audit] anchor_key_file``; with a key configured, lines without a valid ``mac`` are not
trusted (counted and skipped). A line with the mark and ``store=`` that is not a whole
anchor line (cut short, altered, wrapped in JSON) makes ``chi audit verify`` fail naming it:
the newest anchor damaged must not hide a cut. Any other line is skipped, even one that
mentions the mark (an access log's ``GET /chi-audit-anchor``); trailing spaces are
ignored. Lines of the first format (no ``store=``) are read as this store's when no key is
configured.

What whoever controls the anchor file (but not the key) can do: delete anchor lines (cuts
newer than the last anchor left are then not seen; deleting all of them is itself reported),
replay old lines of this log (harmless: they agree), add lines (without the key they are
skipped; without a key configured, a forged line can only raise a false alarm, never hide a
cut). What they cannot do: make a cut log match an anchor that remains, or forge a signed
line. An anchor line holds a time, a count, a store id and hashes: nothing about anyone.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from chi.state.db import timestamp, utc_now
from chi.state.store import AuditCheck, Store, StoreError

MARK = "chi-audit-anchor"
_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_LINE = re.compile(
    rf"(?:^|: )(?P<body>(?P<at>{_TIME}) {MARK}(?: store=(?P<store>[0-9a-f]{{16}}|-))?"
    r" entries=(?P<entries>\d{1,18}) hash=(?P<hash>[0-9a-f]{64}|-))"
    r"(?: mac=(?P<mac>[0-9a-f]{64}))?$"
)
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Anchor:
    entries: int
    head: str
    """The hash of entry ``entries`` (empty for an empty log)."""
    at: str
    where: str
    """``FILE line N``, for messages."""
    store: str | None = None
    """The store id it names (None: a line of the first format, without one)."""


@dataclass
class AnchorFile:
    """The anchors read from a file, and how many marked lines were skipped."""

    anchors: list[Anchor] = field(default_factory=list)
    unsigned: int = 0
    """Whole anchor lines without a valid ``mac`` while a key is configured (not trusted)."""
    malformed: list[str] = field(default_factory=list)
    """Where (``FILE line N``) a line looks like an anchor (the mark and ``store=``) but is
    not a whole one: cut short or altered. Never skipped silently: verify fails on it."""


def load_key(path: Path | None) -> bytes | None:
    """The anchor key from ``[audit] anchor_key_file`` (None: none configured)."""
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise StoreError(f"{path}: the anchor key cannot be read ({type(exc).__name__})") from None
    if len(key) < MIN_KEY_BYTES:
        raise StoreError(f"{path}: the anchor key is shorter than {MIN_KEY_BYTES} bytes")
    return key


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()


def store_id(store: Store) -> str:
    """The store's id in anchors: 16 hex characters of its first entry's hash (``-``: empty)."""
    first = store.audit_hashes([1]).get(1)
    return first[:16] if first else "-"


def anchor_line(
    check: AuditCheck, sid: str = "-", key: bytes | None = None, now: datetime | None = None
) -> str:
    """The head of an intact chain as one line:
    ``TIME chi-audit-anchor store=SID entries=N hash=H`` and, with a key, `` mac=M``."""
    body = (
        f"{timestamp(utc_now(now))} {MARK} store={sid} entries={check.entries} "
        f"hash={check.head or '-'}"
    )
    return body if key is None else f"{body} mac={_mac(key, body)}"


def append_anchor(path: Path, line: str) -> None:
    """Append ``line`` to the anchor file (created if missing), flushed to disk."""
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_anchors(path: Path, key: bytes | None = None) -> AnchorFile:
    """Every whole anchor line in ``path`` (any other line is skipped); with ``key``, only
    lines with a valid ``mac``."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline=None) as f:
            return _anchors(path, f, key)
    except OSError as exc:
        raise StoreError(f"{path}: the anchor file cannot be read ({type(exc).__name__})") from None


def _anchors(path: Path, lines: Iterable[str], key: bytes | None) -> AnchorFile:
    out = AnchorFile()
    for number, line in enumerate(lines, start=1):  # line by line: a server log may be long
        if MARK not in line:
            continue
        match = _LINE.search(line.rstrip())
        if match is None:
            if "store=" in line:  # an anchor line, but cut short or altered
                out.malformed.append(f"{path} line {number}")
            continue  # mentions the mark but is no anchor line (an access log, say)
        if key is not None:
            mac = match.group("mac")
            if mac is None or not hmac.compare_digest(mac, _mac(key, match.group("body"))):
                out.unsigned += 1
                continue
        head = "" if match.group("hash") == "-" else match.group("hash")
        out.anchors.append(
            Anchor(
                int(match.group("entries")),
                head,
                match.group("at"),
                f"{path} line {number}",
                match.group("store"),
            )
        )
    return out


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def own_anchors(store: Store, anchors: list[Anchor]) -> list[Anchor]:
    """The anchors of this store's log (its id, no id, or ``-``). An empty log has no id
    yet: every anchor is its own then (they all say that entries are gone)."""
    sid = store_id(store)
    return [a for a in anchors if sid == "-" or a.store in (None, "-", sid)]


def anchor_problems(
    store: Store,
    check: AuditCheck,
    anchors: list[Anchor],
    source: str | None = None,
    unsigned: int = 0,
) -> list[str]:
    """How an intact chain (``check``) disagrees with the recorded heads: entries missing at
    its end, an entry whose hash is not the one recorded, or (``source``: the anchor file
    checked against) no anchor of this log there at all while it has entries. Empty: it
    agrees with all."""
    if not check.ok:
        raise ValueError("anchors are compared with an intact chain only")
    problems: list[str] = []
    mine = own_anchors(store, anchors)
    foreign = len(anchors) - len(mine)
    if source is not None and check.entries > 0 and not any(a.entries > 0 for a in mine):
        why = [f"{foreign} name another store (store=...)"] if foreign else []
        if unsigned:
            why.append(f"{unsigned} are not signed with the anchor key")
        detail = f" ({'; '.join(why)})" if why else ""
        problems.append(
            f"{source} holds no anchor of this audit log{detail}: it was emptied or replaced, "
            "or the log was rebuilt from its first entry"
        )
        return problems
    anchors = mine
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


def anchor_now(
    store: Store, path: Path | None, log: TextIO, key: bytes | None = None
) -> str | None:
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
        line = anchor_line(check, store_id(store), key)
        print(f"chi: {line}", file=log, flush=True)
        if path is not None:
            append_anchor(path, line)
        return line
    except (OSError, StoreError, sqlite3.Error) as exc:
        to = f" to {path}" if path is not None else ""
        print(f"chi: no audit anchor written{to} ({type(exc).__name__})", file=log, flush=True)
        return None


async def keep_anchoring(
    store: Store,
    path: Path | None,
    minutes: float,
    stop: asyncio.Event,
    log: TextIO,
    key: bytes | None = None,
) -> None:
    """Anchor now, every ``minutes``, and once more when ``stop`` is set (shutdown)."""
    while True:
        await asyncio.to_thread(anchor_now, store, path, log, key)
        try:
            await asyncio.wait_for(stop.wait(), timeout=minutes * 60)
        except TimeoutError:
            continue
        await asyncio.to_thread(anchor_now, store, path, log, key)
        return
