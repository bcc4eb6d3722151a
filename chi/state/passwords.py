"""The password policy for local accounts, as a force's security officer would set it
(NCSC and NIST SP 800-63B guidance: length, no known-breached or easily guessed passwords,
no composition rules). One policy, :class:`PasswordPolicy`, checks every password chi sets
(``chi users add`` and ``chi users set-password``, through ``Store.add_user`` and
``Store.set_password``); it is built from the configuration's ``[passwords]`` table.

- At least ``MIN_LENGTH`` (12) characters.
- **Not known from breaches** (:mod:`chi.state.breached`, the Pwned Passwords model): the
  password, its lower-case form and its form without spaces, and each of these with up to
  ``TRIM`` (4) characters cut from its ends, or with up to ``AROUND`` (6) digits and
  symbols around it dropped (a breached password with ``xyz`` or ``2024!!`` added is what
  rule-based guessers try first), and its words de-leeted and run together, at least 6
  characters left, are looked up by SHA-1 in

  1. chi's bundled sample (``data/passwords/sample-sha1.txt``: about 20,000 of the most
     common breached passwords; always checked, but it is *not* a breach corpus);
  2. the force's mirror of Pwned Passwords, ``[passwords] breached_corpus`` (a folder of
     range files from ``haveibeenpwned-downloader -s false``, or its single sorted file);
  3. the Pwned Passwords range API, when ``breached_api = true`` (only five characters of
     each SHA-1 leave the server).

  A mirror that cannot answer (missing, unreadable, a range file missing) refuses the
  password. An API that cannot be reached refuses it too, unless ``breached_api_fail_open``
  is true (the default in a demonstration only). In production (``app.demo = false``)
  a password is refused while neither a mirror nor the API is configured: the bundled
  sample alone is no "maintained breached-password check".
- **Not easily guessed**: ``zxcvbn`` rates it at least ``MIN_SCORE`` (3 of 4), and does
  not find it whole on the list of breached passwords it ships.
- **Not the username, nor built on it**: both are case-folded (NFKC, accents dropped,
  Cyrillic and Greek look-alikes read as Latin letters) and de-leeted
  (``0``→o, ``1``/``!``/``|``/``l``→i, ``3``→e, ``4``/``@``→a, ``5``/``$``→s, ``7``/``+``→t,
  ``8``→b, ``9``→g) into words, digits and symbols around a word dropped. The username's
  parts are its words (split on ``. _ - @``, spaces and other digits). A password is refused
  when its words, run together, are made up wholly of username parts (any order, repeated,
  reversed: ``B0b.J0nes.2024!`` and ``senoj-bob-99`` for ``bob.jones``), or contain a part
  of ``MIN_PART`` (4) or more letters, or the whole username, forwards or reversed. A part
  of one to three letters refuses only a password made of parts, so a one-letter username
  refuses nothing else.

Messages say what is wrong, never the password. Demo accounts (``chi demo``) are outside
the policy: they exist only in demonstration mode.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chi.settings import HIBP_RANGE_URL
from chi.state.breached import (
    CheckUnavailable,
    RangeApi,
    SortedHashFile,
    Source,
    mirror,
    sha1_hex,
)

if TYPE_CHECKING:
    from chi.settings import AppConfig

_log = logging.getLogger(__name__)

MIN_LENGTH = 12
MIN_SCORE = 3
TRIM = 4
AROUND = 6
MIN_PART = 4

BREACHED = "this password is on a list of passwords leaked in breaches"
BREACHED_CORE = (
    "this password is a password leaked in breaches with a few characters added or changed"
)
NO_MAINTAINED_CHECK = (
    "no maintained breached-password check is configured: a production configuration "
    "(app.demo = false) needs [passwords] breached_corpus (a mirror of Pwned Passwords) or "
    "breached_api = true before it sets passwords"
)

_LEET = {
    "0": "o", "1": "i", "!": "i", "|": "i", "l": "i", "3": "e", "4": "a", "@": "a",
    "5": "s", "$": "s", "7": "t", "+": "t", "8": "b", "9": "g",
}  # fmt: skip
"""Look-alikes read as one letter, for comparing with the username (``l`` and ``i`` alike)."""
_DELEET_I = {k: v for k, v in _LEET.items() if k != "l"}
_DELEET_L = _DELEET_I | {"1": "l", "|": "l", "!": "l"}
"""Look-alikes read as letters, for looking a password up (``P@55w0rd`` is ``password``)."""
_LATIN = str.maketrans(
    "АВЕКМНОРСТХУІЈЅаеорсухіјѕкмΑΒΕΖΗΙΚΜΝΟΡΤΥΧαεικνορτυχ",
    "abekmhopctxyijsaeopcyxijskmabezhikmnoptyxaeikvoptux",
)
"""Cyrillic and Greek letters that look like Latin ones."""


def sample_path() -> Path:
    from chi.reference import data_dir

    return data_dir() / "passwords" / "sample-sha1.txt"


@dataclass(frozen=True)
class PasswordPolicy:
    breached_corpus: Path | None = None
    """A mirror of Pwned Passwords: a folder of range files, or one sorted file."""
    breached_api: bool = False
    breached_api_url: str = HIBP_RANGE_URL
    breached_api_timeout: float = 5.0
    breached_api_fail_open: bool = False
    """Accept a password when the API cannot be reached (never for a mirror)."""
    production: bool = False
    """Refuse every password while no maintained check (mirror or API) is configured."""

    @classmethod
    def from_config(cls, config: AppConfig) -> PasswordPolicy:
        fail_open = config.breached_api_fail_open
        return cls(
            breached_corpus=config.breached_corpus,
            breached_api=config.breached_api,
            breached_api_url=config.breached_api_url,
            breached_api_timeout=config.breached_api_timeout,
            breached_api_fail_open=config.demo if fail_open is None else fail_open,
            production=not config.demo,
        )

    @property
    def maintained(self) -> bool:
        """Whether a maintained breached-password check (mirror or API) is configured."""
        return self.breached_corpus is not None or self.breached_api

    def sources(self) -> list[tuple[Source, bool]]:
        """Each source with whether its being unavailable refuses the password."""
        out: list[tuple[Source, bool]] = [(SortedHashFile(sample_path(), "chi's sample"), True)]
        if self.breached_corpus is not None:
            try:
                out.append((mirror(self.breached_corpus), True))
            except CheckUnavailable as exc:
                out.append((_Unavailable(str(exc)), True))
        if self.breached_api:
            api = RangeApi(self.breached_api_url, self.breached_api_timeout)
            out.append((api, not self.breached_api_fail_open))
        return out

    def problems(self, password: str, username: str) -> list[str]:
        """What makes ``password`` unacceptable for ``username`` (empty: nothing)."""
        if self.production and not self.maintained:
            return [NO_MAINTAINED_CHECK]
        if len(password) < MIN_LENGTH:
            return [f"a password must be at least {MIN_LENGTH} characters"]
        out: list[str] = []
        if built_on_username(password, username):
            out.append("a password must not contain the username or be built on its parts")
        breached = self._breached(password, out)
        if breached:
            out.append(breached)
            return out
        score, listed = _zxcvbn(password, username)
        if listed:
            out.append(BREACHED)  # on zxcvbn's frequency list of breached passwords too
        elif not out and score < MIN_SCORE:
            out.append(
                "this password is too easy to guess: use three or more random words, "
                "or a longer passphrase"
            )
        return out

    def _breached(self, password: str, out: list[str]) -> str | None:
        whole = {sha1_hex(c) for c in variants(password)}
        cores = {sha1_hex(c) for c in candidates(password)} - whole
        for source, closed in self.sources():
            try:
                found = source.breached(whole | cores)
            except CheckUnavailable as exc:
                if closed:
                    out.append(
                        f"the breached-password check could not be made ({exc}), so the "
                        "password is refused; try again when it can be"
                    )
                else:  # fail-open, as configured: said on standard error, not silently
                    _log.warning(
                        "chi: %s; the password was not checked against it "
                        "(passwords.breached_api_fail_open = true)",
                        exc,
                    )
                continue
            if found & whole:
                return BREACHED
            if found:
                return BREACHED_CORE
        return None


@dataclass
class _Unavailable:
    """A configured source that cannot be opened: every lookup refuses."""

    reason: str
    name: str = "the breached-password mirror"

    def breached(self, hashes: object) -> set[str]:
        raise CheckUnavailable(self.reason)


def problems(password: str, username: str, policy: PasswordPolicy | None = None) -> list[str]:
    """What makes ``password`` unacceptable for ``username`` under ``policy`` (default: the
    bundled sample only, outside production)."""
    return (policy or PasswordPolicy()).problems(password, username)


def variants(password: str) -> list[str]:
    """The password as typed, lower-cased, and without spaces (both ways), in that order."""
    out: list[str] = []
    for v in (
        password,
        password.lower(),
        "".join(password.split()),
        "".join(password.lower().split()),
    ):
        if v and v not in out:
            out.append(v)
    return out


def candidates(password: str) -> list[str]:
    """Every variant with up to ``TRIM`` characters cut from its two ends together, and
    with the digits and symbols around it (up to ``AROUND`` of them) dropped; then its words
    de-leeted and run together: each with at least 6 characters left."""
    out: list[str] = []

    def add(core: str) -> None:
        if len(core) >= 6 and core not in out:
            out.append(core)

    for v in variants(password):
        for cut in range(TRIM + 1):
            for head in range(cut + 1):
                add(v[head : len(v) - (cut - head)])
        start, end = 0, len(v)
        while start < end and not v[start].isalpha():
            start += 1
        while end > start and not v[end - 1].isalpha():
            end -= 1
        if len(v) - (end - start) <= AROUND:
            add(v[start:end])
    # Its words de-leeted and run together (``P@55w0rd-2024`` is ``password``).
    for table in (_DELEET_I, _DELEET_L):
        add("".join(words(password, table=table)))
    return out


def _zxcvbn(password: str, username: str) -> tuple[int, bool]:
    """zxcvbn's score, and whether it finds the whole password on its list of breached
    passwords (a few tens of thousands, shipped with it)."""
    from zxcvbn import zxcvbn

    text = password[:100]
    result = zxcvbn(text, user_inputs=[username, *username_parts(username)])
    listed = any(
        m.get("pattern") == "dictionary"
        and m.get("dictionary_name") == "passwords"
        and m["i"] == 0
        and m["j"] == len(text) - 1
        for m in result["sequence"]
    )
    return int(result["score"]), listed


def _fold(text: str) -> str:
    """Case-folded, compatibility forms (full-width letters) and accents dropped, Cyrillic
    and Greek look-alikes read as Latin letters."""
    plain = unicodedata.normalize("NFKD", text.translate(_LATIN))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", plain).casefold()


def words(text: str, edges: bool = False, table: dict[str, str] = _LEET) -> list[str]:
    """``text`` as de-leeted, case-folded words: runs of letters and look-alike digits and
    symbols that hold a letter. The digits and symbols at a run's ends are dropped (they are
    "around" the word: ``bob!!``), or with ``edges`` read as letters too (``8ob``)."""
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        if not edges:
            while run and not run[0].isalpha():
                run.pop(0)
            while run and not run[-1].isalpha():
                run.pop()
        if any(c.isalpha() for c in run):
            out.append("".join(table.get(c, c) for c in run))
        run.clear()

    for c in _fold(text):
        if c.isalpha() or c in table:
            run.append(c)
        else:
            close()
    close()
    return out


def username_parts(username: str) -> list[str]:
    """A username's words, split on its separators first (``bob.jones2@force.uk`` ->
    ``bob``, ``jones``, ``force``, ``uk``: an ``@`` there is no ``a``)."""
    chunks = re.split(r"[._\-@\s]+", username)
    return list(dict.fromkeys(w for chunk in chunks for w in words(chunk)))


def _made_of(text: str, parts: set[str]) -> bool:
    """Whether ``text`` is a run of ``parts`` (any order, repeated)."""
    reach = [True] + [False] * len(text)  # reach[i]: text[:i] is a run of parts
    for i in range(len(text)):
        if reach[i]:
            for p in parts:
                if p and text.startswith(p, i):
                    reach[i + len(p)] = True
    return reach[-1]


def built_on_username(password: str, username: str) -> bool:
    """Whether ``password`` is the username or built on its parts (see the module)."""
    parts = username_parts(username)
    if not parts:
        return False
    joined = "".join(parts)
    forms = {*parts, joined}
    forms |= {f[::-1] for f in forms}
    for run in {"".join(words(password)), "".join(words(password, edges=True))}:
        if run and _made_of(run, forms):
            return True
        if any(len(f) >= MIN_PART and f in run for f in forms):
            return True
    raw_user = "".join(c for c in _fold(username) if c.isalnum())
    raw_password = "".join(c for c in _fold(password) if c.isalnum())
    return len(raw_user) >= MIN_PART and (
        raw_user in raw_password or raw_user[::-1] in raw_password
    )


def startup_warning(config: AppConfig) -> str | None:
    """What the server says at start-up about the password policy (None: nothing): a
    production configuration with local accounts but no maintained breached-password check
    sets no password (``chi users`` refuses) and warns here."""
    if config.demo or config.auth_mode != "local":
        return None
    if PasswordPolicy.from_config(config).maintained:
        return None
    return (
        "no maintained breached-password check is configured ([passwords] breached_corpus "
        "or breached_api): `chi users add` and `set-password` refuse to set passwords until "
        "one is; passwords set before were checked against chi's sample only"
    )
