"""Is a password known from breaches? The Pwned Passwords k-anonymity model, offline first.

A password is looked up by its SHA-1 (upper-case hex, as Have I Been Pwned publishes it):
the first five characters name a *range* and the range lists the other 35 characters of
every breached hash in it with how often it was seen (``SUFFIX:COUNT`` lines, the format of
``GET /range/XXXXX`` on the Pwned Passwords API). Three sources answer the same question:

- :class:`RangeFolder`: a folder of range files ``XXXXX.txt`` (``haveibeenpwned-downloader
  FOLDER -s false`` writes it, one file per prefix). Lines may be 35-character suffixes or
  whole 40-character hashes.
- :class:`SortedHashFile`: one file of ``HASH:COUNT`` lines sorted by hash
  (``haveibeenpwned-downloader pwnedpasswords`` writes it; so does HIBP's "ordered by hash"
  download), searched by bisection without reading it whole. chi's bundled sample
  (``data/passwords/``) is in this format too.
- :class:`RangeApi`: the online range API, when a force allows it. Only the five-character
  prefix leaves the server (k-anonymity), with ``Add-Padding: true`` so the size of the
  answer tells an observer nothing either; padding entries (count 0) are not breaches.

A source that cannot answer (a missing range file, an unreadable mirror, an API that times
out or answers badly) raises :class:`CheckUnavailable`; the policy decides what that means.
Nothing here logs or raises with a password or a whole hash in it.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from chi.settings import HIBP_RANGE_URL

_HEX40 = re.compile(r"[0-9A-F]{40}")
_PREFIX = re.compile(r"[0-9A-F]{5}")
_SORTED_LINE = re.compile(rb"[0-9A-Fa-f]{40}:\d+")


class CheckUnavailable(Exception):
    """A breached-password source could not answer (its message names the source, never a
    password or a hash)."""


def sha1_hex(password: str) -> str:
    """The upper-case hex SHA-1 of ``password``'s UTF-8 bytes, as Pwned Passwords keys it."""
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class Source(Protocol):
    name: str

    def breached(self, hashes: Iterable[str]) -> set[str]:
        """Which of ``hashes`` (upper-case hex SHA-1) are known breached (count >= 1)."""
        ...


def parse_range(prefix: str, text: str, where: str) -> dict[str, int]:
    """A range's ``SUFFIX:COUNT`` (or ``HASH:COUNT``) lines as whole hash -> count."""
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        head, sep, count = line.partition(":")
        head = head.strip().upper()
        if len(head) == 35:
            head = prefix + head
        if not sep or not _HEX40.fullmatch(head) or not count.strip().isdigit():
            raise CheckUnavailable(f"{where}: line {number} is not HASH:COUNT")
        if head.startswith(prefix):
            out[head] = int(count)
    return out


@dataclass
class RangeFolder:
    """A folder of range files named by prefix (``00000.txt`` ... ``FFFFF.txt``)."""

    path: Path
    name: str = "the breached-password mirror"

    def _range(self, prefix: str) -> dict[str, int]:
        names = (f"{prefix}.txt", prefix, f"{prefix.lower()}.txt", prefix.lower())
        for candidate in (self.path / name for name in names):
            if candidate.is_file():
                try:
                    text = candidate.read_text(encoding="utf-8")
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
        found: set[str] = set()
        by_prefix: dict[str, list[str]] = {}
        for h in hashes:
            by_prefix.setdefault(h[:5], []).append(h)
        for prefix, group in by_prefix.items():
            counts = self._range(prefix)
            found.update(h for h in group if counts.get(h, 0) > 0)
        return found


@dataclass
class SortedHashFile:
    """One file of ``HASH:COUNT`` lines sorted by hash, searched by bisection."""

    path: Path
    name: str = "the breached-password mirror"

    @staticmethod
    def _line_at(f: BinaryIO, position: int) -> bytes:
        """The first whole line starting at or after ``position``."""
        if position == 0:
            f.seek(0)
        else:
            f.seek(position - 1)
            f.readline()  # through the newline before the next line's start
        return f.readline()

    def _count(self, f: BinaryIO, size: int, target: str) -> int:
        key = target.encode("ascii")
        # The smallest position whose next line is past the end or has a hash >= target
        # (monotone in the position, since the lines are sorted).
        lo, hi = 0, size
        while lo < hi:
            mid = (lo + hi) // 2
            line = self._line_at(f, mid)
            if line and line[:40].upper() < key:
                lo = mid + 1
            else:
                hi = mid
        line = self._line_at(f, lo)
        if line[:40].upper() != key:
            return 0
        count = line[41:].strip()
        if line[40:41] != b":" or not count.isdigit():
            raise CheckUnavailable(f"{self.path}: a line is not HASH:COUNT")
        return int(count)

    def _check_format(self, f: BinaryIO, size: int) -> None:
        """The first and last lines are SHA-1 ``HASH:COUNT`` lines in order: not an NTLM
        download (32 characters, which would never match), not an unsorted file."""
        first = self._line_at(f, 0)
        last = self._line_at(f, max(0, size - 60))
        while True:
            more = f.readline()
            if not more:
                break
            last = more
        for line in (first, last):
            if not _SORTED_LINE.fullmatch(line.strip()):
                raise CheckUnavailable(
                    f"{self.path}: not a Pwned Passwords SHA-1 file (HASH:COUNT lines, "
                    "40 hex characters)"
                )
        if first[:40].upper() > last[:40].upper():
            raise CheckUnavailable(f"{self.path}: its lines are not sorted by hash")

    def breached(self, hashes: Iterable[str]) -> set[str]:
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as f:
                self._check_format(f, size)
                return {h for h in set(hashes) if self._count(f, size, h) > 0}
        except OSError as exc:
            raise CheckUnavailable(f"{self.path}: cannot be read ({type(exc).__name__})") from None


@dataclass
class RangeApi:
    """The Pwned Passwords range API (or a force's own copy of it at another address)."""

    url: str = HIBP_RANGE_URL
    timeout: float = 5.0
    name: str = "the breached-password service"
    requests: list[str] = field(default_factory=list)
    """The prefixes asked for, in order (all that ever left the server)."""

    def _range(self, prefix: str) -> dict[str, int]:
        assert _PREFIX.fullmatch(prefix)
        self.requests.append(prefix)
        request = urllib.request.Request(
            self.url.rstrip("/") + "/" + prefix,
            headers={"Add-Padding": "true", "User-Agent": "chi-password-policy"},
        )
        where = f"{self.name} ({self.url})"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status != 200:
                    raise CheckUnavailable(f"{where} answered HTTP {response.status}")
                text = response.read(8_000_000).decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise CheckUnavailable(f"{where} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "reason", exc)
            kind = "timed out" if "timed out" in str(reason) else "could not be reached"
            raise CheckUnavailable(f"{where} {kind}") from None
        return parse_range(prefix, text, where)

    def breached(self, hashes: Iterable[str]) -> set[str]:
        found: set[str] = set()
        by_prefix: dict[str, list[str]] = {}
        for h in hashes:
            by_prefix.setdefault(h[:5], []).append(h)
        for prefix, group in by_prefix.items():
            counts = self._range(prefix)
            found.update(h for h in group if counts.get(h, 0) > 0)
        return found


def mirror(path: Path) -> Source:
    """The source for a configured mirror: a folder of range files, or one sorted file."""
    if path.is_dir():
        return RangeFolder(path)
    if path.is_file():
        return SortedHashFile(path)
    raise CheckUnavailable(f"{path}: no breached-password mirror there (folder or file)")
