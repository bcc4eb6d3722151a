"""Is a password known from breaches? The Pwned Passwords k-anonymity model, offline first.

A password is looked up by its SHA-1 (upper-case hex, as Have I Been Pwned publishes it):
the first five characters name a *range* and the range lists the other 35 characters of
every breached hash in it with how often it was seen (``SUFFIX:COUNT`` lines, the format of
``GET /range/XXXXX`` on the Pwned Passwords API). Three sources answer the same question:

- :class:`RangeFolder`: a folder of range files ``XXXXX.txt`` (``haveibeenpwned-downloader
  FOLDER -s false`` writes it, one file per prefix). Lines may be 35-character suffixes or
  whole 40-character hashes (of the file's own prefix). A maintained mirror is complete: the
  folder holds at least ``MIN_RANGE_FILES`` (all 16^5 = 1,048,576) range files, and each
  range file read holds at least ``MIN_RANGE_LINES`` (100) lines (the smallest real range
  holds several hundred); anything less refuses.
- :class:`SortedHashFile`: one file of ``HASH:COUNT`` lines sorted by hash
  (``haveibeenpwned-downloader pwnedpasswords`` writes it; so does HIBP's "ordered by hash"
  download), searched by bisection without reading it whole. A mirror is at least
  ``MIN_SORTED_BYTES`` (4 GiB; the full file is over 35 GB) and never chi's bundled sample
  (``data/passwords/``, which is in this format too). Every line the bisection reads must be
  a ``HASH:COUNT`` line in order with the lines read before it, or the file refuses.
- :class:`RangeApi`: the online range API, when a force allows it. The policy asks it for
  ONE range per password (the password as typed, :mod:`chi.state.passwords`), so an observer
  learns five hex characters of one hash (k-anonymity), with ``Add-Padding: true`` so the
  size of the answer tells nothing either; padding entries (count 0) are not breaches. It is
  asked over https only (plain http only when explicitly allowed, for a test server on this
  machine), never follows a redirect, must answer within one total deadline, and an answer
  that is empty, short or not ``SUFFIX:COUNT`` lines refuses.

A source that cannot answer (a missing range file, an unreadable or implausible mirror, an
API that times out or answers badly) raises :class:`CheckUnavailable`; the policy decides
what that means. Nothing here logs or raises with a password or a whole hash in it.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from chi.settings import HIBP_RANGE_URL

_HEX40 = re.compile(r"[0-9A-F]{40}")
_PREFIX = re.compile(r"[0-9A-F]{5}")
_COUNT = re.compile(r"[0-9]{1,12}")  # ASCII digits only ("²" and "٥" are digits to Python)
_SORTED_LINE = re.compile(rb"[0-9A-Fa-f]{40}:[0-9]{1,12}")
_RANGE_NAME = re.compile(r"[0-9A-Fa-f]{5}(?:\.txt)?")

MIN_RANGE_FILES = 16**5
"""Range files a folder mirror must hold: all of them (a partial download is no mirror)."""
MIN_RANGE_LINES = 100
"""Lines a range (file or API answer) must hold: real ranges hold several hundred."""
MIN_SORTED_BYTES = 4 * 1024**3
"""Bytes a sorted-file mirror must hold (about 95 million hashes; the full file is 35 GB+)."""
MAX_LINE = 128
"""Longest line read from a mirror (a HASH:COUNT line is under 60 bytes)."""
MAX_ANSWER = 4_000_000
"""Largest range answer read from the API (a padded range is about 40 kB)."""

_counted: dict[tuple[str, int], int] = {}
"""Range files counted per folder (path, modification time): counted once per process."""


class CheckUnavailable(Exception):
    """A breached-password source could not answer (its message names the source, never a
    password or a hash)."""


def sha1_hex(password: str) -> str:
    """The upper-case hex SHA-1 of ``password``'s UTF-8 bytes, as Pwned Passwords keys it
    (a lone surrogate, which no keyboard types, is hashed as U+FFFD)."""
    data = password.encode("utf-8", errors="replace")
    return hashlib.sha1(data, usedforsecurity=False).hexdigest().upper()


class Source(Protocol):
    name: str

    def breached(self, hashes: Iterable[str]) -> set[str]:
        """Which of ``hashes`` (upper-case hex SHA-1) are known breached (count >= 1)."""
        ...


def parse_range(prefix: str, text: str, where: str) -> dict[str, int]:
    """A range's ``SUFFIX:COUNT`` (or ``HASH:COUNT``) lines as whole hash -> count. A range
    with fewer than ``MIN_RANGE_LINES`` lines, or a line that is not such a line of this
    prefix, refuses: an empty or foreign range must never answer "not breached"."""
    out: dict[str, int] = {}
    lines = 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        lines += 1
        head, sep, count = line.partition(":")
        head = head.strip().upper()
        if len(head) == 35:
            head = prefix + head
        if not sep or not _HEX40.fullmatch(head) or not _COUNT.fullmatch(count.strip()):
            raise CheckUnavailable(f"{where}: line {number} is not HASH:COUNT")
        if not head.startswith(prefix):
            raise CheckUnavailable(
                f"{where}: line {number} holds a hash of another range than {prefix}"
            )
        # A hash listed twice (":5" then ":0", a hostile or broken answer): any positive
        # count is a breach, whichever line comes last.
        out[head] = max(out.get(head, 0), int(count))
    if lines < MIN_RANGE_LINES:
        raise CheckUnavailable(
            f"{where}: range {prefix} holds {lines} lines, fewer than the {MIN_RANGE_LINES} "
            "of any real range (empty or cut short)"
        )
    return out


def _is_sample(path: Path) -> bool:
    from chi.reference import data_dir

    sample_dir = (data_dir() / "passwords").resolve()
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return resolved == sample_dir or sample_dir in resolved.parents


def _by_prefix(hashes: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h in hashes:
        out.setdefault(h[:5], []).append(h)
    return out


@dataclass
class RangeFolder:
    """A folder of range files named by prefix (``00000.txt`` ... ``FFFFF.txt``)."""

    path: Path
    name: str = "the breached-password mirror"

    def _check_complete(self) -> None:
        try:
            key = (str(self.path.resolve()), self.path.stat().st_mtime_ns)
            if key not in _counted:
                n = 0
                with os.scandir(self.path) as entries:
                    for entry in entries:
                        if _RANGE_NAME.fullmatch(entry.name):
                            n += 1
                            if n >= MIN_RANGE_FILES:
                                break
                _counted[key] = n
        except OSError as exc:
            raise CheckUnavailable(f"{self.path}: cannot be read ({type(exc).__name__})") from None
        if _counted[key] < MIN_RANGE_FILES:
            raise CheckUnavailable(
                f"{self.path}: holds {_counted[key]:,} range files, not the {MIN_RANGE_FILES:,} "
                "of a complete Pwned Passwords mirror"
            )

    def _range(self, prefix: str) -> dict[str, int]:
        names = (f"{prefix}.txt", prefix, f"{prefix.lower()}.txt", prefix.lower())
        for candidate in (self.path / name for name in names):
            if candidate.is_file():
                try:
                    with candidate.open("rb") as f:
                        data = f.read(MAX_ANSWER + 1)
                    if len(data) > MAX_ANSWER:
                        raise CheckUnavailable(f"{candidate}: too large for a range file")
                    text = data.decode("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise CheckUnavailable(
                        f"{candidate}: cannot be read ({type(exc).__name__})"
                    ) from None
                return parse_range(prefix, text, str(candidate))
        # A mirror with a range missing is incomplete: it must not answer "not breached".
        raise CheckUnavailable(
            f"{self.path}: range file {prefix}.txt is missing (incomplete mirror)"
        )

    def breached(self, hashes: Iterable[str]) -> set[str]:
        self._check_complete()
        found: set[str] = set()
        for prefix, group in _by_prefix(hashes).items():
            counts = self._range(prefix)
            found.update(h for h in group if counts.get(h, 0) > 0)
        return found


@dataclass
class SortedHashFile:
    """One file of ``HASH:COUNT`` lines sorted by hash, searched by bisection."""

    path: Path
    name: str = "the breached-password mirror"
    min_bytes: int | None = None
    """Smallest size accepted (None: ``MIN_SORTED_BYTES``; chi's own sample gives 0)."""

    def _bad(self, what: str) -> CheckUnavailable:
        return CheckUnavailable(f"{self.path}: {what}")

    def _readline(self, f: BinaryIO) -> bytes:
        line = f.readline(MAX_LINE)
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            raise self._bad("a line is too long for a Pwned Passwords SHA-1 file")
        return line

    def _line_at(self, f: BinaryIO, position: int) -> bytes:
        """The first whole line starting at or after ``position``."""
        if position == 0:
            f.seek(0)
        else:
            f.seek(position - 1)
            self._readline(f)  # through the newline before the next line's start
        return self._readline(f)

    def _key(self, line: bytes) -> bytes:
        """The hash of a ``HASH:COUNT`` line (upper-case); anything else refuses."""
        if not _SORTED_LINE.fullmatch(line.strip()):
            raise self._bad(
                "not a Pwned Passwords SHA-1 file (a line is not HASH:COUNT with 40 hex characters)"
            )
        return line[:40].upper()

    def _count(self, f: BinaryIO, end: int, target: str) -> int:
        key = target.encode("ascii")
        # The smallest position whose next line is past the end or has a hash >= target
        # (monotone in the position, since the lines are sorted). Every line read must lie
        # between the lines read below and above it: an unsorted stretch refuses.
        below, above = b"", b"G" * 40
        lo, hi = 0, end
        while lo < hi:
            mid = (lo + hi) // 2
            line = self._line_at(f, mid)
            if f.tell() - len(line) >= end or not line:
                hi = mid
                continue
            got = self._key(line)
            if not below <= got <= above:
                raise self._bad("its lines are not sorted by hash")
            if got < key:
                below, lo = got, mid + 1
            else:
                above, hi = got, mid
        line = self._line_at(f, lo)
        if not line or f.tell() - len(line) >= end:
            return 0
        got = self._key(line)
        if not below <= got <= above:
            raise self._bad("its lines are not sorted by hash")
        nxt = self._readline(f)
        if nxt and f.tell() - len(nxt) < end and self._key(nxt) <= got:
            raise self._bad("its lines are not sorted by hash")
        if got != key:
            return 0
        return int(line.strip()[41:])

    def _end(self, f: BinaryIO, size: int) -> int:
        """Where the lines end: blank lines and spaces at the end of the file are not lines."""
        f.seek(max(0, size - 4096))
        tail = f.read()
        return size - (len(tail) - len(tail.rstrip()))

    def _check_format(self, f: BinaryIO, end: int) -> None:
        """The first and last lines are SHA-1 ``HASH:COUNT`` lines in order: not an NTLM
        download (32 characters, which would never match), not an unsorted file."""
        if end == 0:
            raise self._bad("not a Pwned Passwords SHA-1 file (it is empty)")
        first = self._key(self._line_at(f, 0))
        f.seek(max(0, end - 2 * MAX_LINE))
        tail = f.read(end - max(0, end - 2 * MAX_LINE))
        last = self._key(tail.rstrip().rsplit(b"\n", 1)[-1])
        if first > last:
            raise self._bad("its lines are not sorted by hash")

    def breached(self, hashes: Iterable[str]) -> set[str]:
        minimum = MIN_SORTED_BYTES if self.min_bytes is None else self.min_bytes
        try:
            size = self.path.stat().st_size
            if size < minimum:
                raise self._bad(
                    f"{size:,} bytes, too small for a maintained Pwned Passwords mirror "
                    f"(at least {minimum:,})"
                )
            with self.path.open("rb") as f:
                end = self._end(f, size)
                self._check_format(f, end)
                return {h for h in set(hashes) if self._count(f, end, h) > 0}
        except OSError as exc:
            raise CheckUnavailable(f"{self.path}: cannot be read ({type(exc).__name__})") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shown_url(url: str) -> str:
    """``url`` as a message may show it: any credentials (``user:secret@``) taken out."""
    return re.sub(r"(?<=//)[^/?#]*@", "", url)


def api_url_problem(url: str, allow_http: bool) -> str | None:
    """Why ``url`` cannot be the range API's address (None: it can): https, or plain http
    to this machine only when ``allow_http`` (a test server)."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number raises here, not in the check
    except ValueError:
        return "passwords.breached_api_url is not a URL (it does not parse)"
    if not parts.hostname:
        return "passwords.breached_api_url must be an https address"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http and _loopback(parts.hostname):
        return None
    if parts.scheme == "http":
        return (
            "passwords.breached_api_url must be an https address (plain http only for a test "
            "server on this machine, with passwords.breached_api_allow_http = true)"
        )
    return "passwords.breached_api_url must be an https address"


def _https_proxy(host: str) -> tuple[str, int] | None:
    """The proxy ``$HTTPS_PROXY`` names for ``host`` (None: none, or ``$NO_PROXY`` says so)."""
    import urllib.request

    url = urllib.request.getproxies().get("https")
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or 3128


@dataclass
class RangeApi:
    """The Pwned Passwords range API (or a force's own copy of it at another address)."""

    url: str = HIBP_RANGE_URL
    timeout: float = 5.0
    """Seconds for the whole check: connecting, asking and reading every byte."""
    allow_http: bool = False
    name: str = "the breached-password service"
    requests: list[str] = field(default_factory=list)
    """The prefixes asked for, in order (all that ever left the server)."""

    def _range(self, prefix: str, deadline: float) -> dict[str, int]:
        assert _PREFIX.fullmatch(prefix)
        where = f"{self.name} ({shown_url(self.url)})"
        problem = api_url_problem(self.url, self.allow_http)
        if problem is not None:
            raise CheckUnavailable(f"{where}: {problem}")
        parts = urllib.parse.urlsplit(self.url)
        path = (parts.path or "/").rstrip("/") + "/" + prefix
        self.requests.append(prefix)

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            return remaining

        conn: http.client.HTTPConnection
        try:
            proxy = _https_proxy(parts.hostname or "")
            if parts.scheme == "https" and proxy is not None:
                # Through the force's proxy ($HTTPS_PROXY): a CONNECT tunnel, TLS to the API
                # itself inside it (the certificate checked against the API's name).
                conn = http.client.HTTPSConnection(
                    proxy[0], proxy[1], timeout=left(), context=ssl.create_default_context()
                )
                conn.set_tunnel(parts.hostname or "", parts.port or 443)
            elif parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    parts.hostname or "", parts.port, timeout=left(),
                    context=ssl.create_default_context(),
                )  # fmt: skip
            else:
                conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=left())
            try:
                conn.connect()
                sock = conn.sock
                sock.settimeout(left())
                conn.request(
                    "GET", path,
                    headers={"Add-Padding": "true", "User-Agent": "chi-password-policy"},
                )  # fmt: skip
                sock.settimeout(left())
                response = conn.getresponse()
                if 300 <= response.status < 400:
                    raise CheckUnavailable(
                        f"{where} answered with a redirect (HTTP {response.status}), which is "
                        "never followed"
                    )
                if response.status != 200:
                    raise CheckUnavailable(f"{where} answered HTTP {response.status}")
                body = bytearray()
                while True:
                    sock.settimeout(left())
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    body += chunk
                    if len(body) > MAX_ANSWER:
                        raise CheckUnavailable(f"{where} answered more than a range holds")
            finally:
                conn.close()
            text = bytes(body).decode("utf-8")
        except CheckUnavailable:
            raise
        except TimeoutError:
            raise CheckUnavailable(
                f"{where} timed out (no whole answer within {self.timeout:g} s)"
            ) from None
        except (OSError, http.client.HTTPException, UnicodeDecodeError, ValueError):
            raise CheckUnavailable(f"{where} could not be reached") from None
        return parse_range(prefix, text, where)

    def _ask(self, hashes: Iterable[str], deadline: float) -> set[str]:
        found: set[str] = set()
        for prefix, group in _by_prefix(hashes).items():
            counts = self._range(prefix, deadline)
            found.update(h for h in group if counts.get(h, 0) > 0)
        return found

    def breached(self, hashes: Iterable[str]) -> set[str]:
        """Asked in a worker thread the caller waits for until one deadline: socket
        timeouts bound each read, and the thread bounds what they do not (a slow name
        lookup), so the whole check never takes longer than ``timeout``."""
        deadline = time.monotonic() + self.timeout
        wanted = list(hashes)
        outcome: list[set[str] | CheckUnavailable] = []

        def work() -> None:
            try:
                outcome.append(self._ask(wanted, deadline))
            except CheckUnavailable as exc:
                outcome.append(exc)

        worker = threading.Thread(target=work, name="chi-range-api", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()) + 0.05)
        if not outcome:
            raise CheckUnavailable(
                f"{self.name} ({shown_url(self.url)}) timed out (no whole answer within "
                f"{self.timeout:g} s)"
            )
        result = outcome[0]
        if isinstance(result, CheckUnavailable):
            raise result
        return result


def mirror(path: Path) -> Source:
    """The source for a configured mirror: a folder of range files, or one sorted file;
    never chi's own sample (a few thousand common passwords is no maintained check)."""
    if _is_sample(path):
        raise CheckUnavailable(
            f"{path}: chi's bundled sample is no maintained breached-password mirror"
        )
    if path.is_dir():
        return RangeFolder(path)
    if path.is_file():
        return SortedHashFile(path)
    raise CheckUnavailable(f"{path}: no breached-password mirror there (folder or file)")
