"""The password policy for local accounts, as a force's security officer would set it
(NCSC and NIST SP 800-63B guidance: length, no known-breached or easily guessed passwords
and no trivial transformations of them, no composition rules). One policy,
:class:`PasswordPolicy`, checks every password chi sets (``chi users add`` and ``chi users
set-password``, through ``Store.add_user`` and ``Store.set_password``); it is built from the
configuration's ``[passwords]`` table (a ``Store`` given none reads the configuration named
by ``$CHI_CONFIG``, or with none named the defaults, which are production's: no password
without a maintained breached-password check, no demo account; a demonstration passes its
policy explicitly).

- At least ``MIN_LENGTH`` (12) characters; text (no undecodable bytes).
- **Not known from breaches** (:mod:`chi.state.breached`, the Pwned Passwords model). The
  **range API** (``breached_api = true``) is asked ONE range per password: the first five
  hex characters of the SHA-1 of the password *as typed*, so an observer of the API learns
  five characters of one hash, never a set of prefixes that would identify the password.
  Its trivial transformations are looked up only where nothing leaves the server, chi's
  bundled sample (``data/passwords/sample-sha1.txt``: about 20,000 of the most common
  breached passwords; always checked, but *not* a breach corpus) and the force's mirror
  (``[passwords] breached_corpus``: a folder of range files from ``haveibeenpwned-downloader
  -s false``, or its single sorted file): the password without invisible characters,
  lower-cased, without spaces, with shifted digits unshifted (``!QAZ2wsx`` is ``1qaz2wsx``);
  each with up to ``TRIM`` (4) characters cut from its ends, or with up to ``AROUND`` (6)
  digits and symbols around it dropped, or (typed without spaces) up to 3 letters and 6
  digits and symbols cut from each end (``MyPassword2024!``, ``xyzpasswordqrs``,
  ``password.1987.pas``); reversed; one unit of a repetition
  (``password password``, ``Liverpool!Liverpool``); and its words de-leeted everywhere,
  the first character included (``$unshine``, ``0ran9e``), and run together; each at least
  6 characters (a repeated unit 4).

  A mirror that cannot answer (missing, unreadable, implausible, a range file missing)
  refuses the password. An API that cannot be reached refuses it too, unless
  ``breached_api_fail_open`` is true (the default in a demonstration only). In production
  (``app.demo = false``) a password is refused while neither a mirror nor the API is
  configured: the bundled sample alone is no "maintained breached-password check".
- **Not easily guessed**: ``zxcvbn`` rates it (or the unit it repeats) at least
  ``MIN_SCORE`` (3 of 4), and does not find it whole on its list of breached passwords.
- **Not the username, nor built on it**: both are folded (:mod:`chi.state.lookalike`: NFKC,
  Unicode confusables, case-folded after mapping, accents dropped) and de-leeted
  (``0``→o, ``1``/``!``/``|``/``l``→i, ``3``→e, ``4``/``@``→a, ``5``/``$``→s, ``7``/``+``→t,
  ``8``→b, ``9``→g), each look-alike symbol also read as a separator (``Bob1Bob1Bob``), and
  compared also with doubled letters collapsed (``bboobb``) and ``z`` read as ``s``. The
  username's parts are its words (split on ``. _ - @``, spaces and digits), and a
  run-together username is also split into an initial and a name (of ``data/names``, or
  any of six letters or more), or two names of ``data/names`` (``jsmith`` is ``j`` +
  ``smith``, ``smithjones`` is ``smith`` + ``jones``).
  A password is refused when its words, run together, are made up wholly of username parts
  (any order, repeated, reversed: ``B0b.J0nes.2024!``, ``senoj-bob-99``), or contain a part of
  ``MIN_PART`` (5) or more letters, or the whole username, forwards or reversed. A part of
  four letters (or a username whose parts are all shorter than five) refuses only as a whole
  word of the password or a run of whole words (``King.Tom`` for ``tom.king``, not
  ``rocking``); reversed, only parts of five or more letters count. A part of one to three
  letters refuses only a password made of parts. Adjacent username words joined
  (``oneil`` of ``s.o-neil``), and the whole username whatever its length (``tom``:
  ``Tom.Garden.Fox9``), refuse as whole words of the password.

Messages say what is wrong, never the password. Demo accounts (``chi demo``) are outside the
length and breach rules when they are made, and only a demonstration policy makes them;
their passwords, once changed, pass the policy like any other.
"""

from __future__ import annotations

import functools
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
from chi.state.lookalike import fold, visible

if TYPE_CHECKING:
    from chi.settings import AppConfig

_log = logging.getLogger(__name__)

MIN_LENGTH = 12
MIN_SCORE = 3
TRIM = 4
AROUND = 6
MIN_PART = 5
ZXCVBN_MAX = 72
"""The longest text zxcvbn rates (it raises on longer; the rest adds only strength)."""

BREACHED = "this password is on a list of passwords leaked in breaches"
BREACHED_CORE = (
    "this password is a password leaked in breaches with a few characters added or changed"
)
BREACHED_EDIT = (
    "this password is a common password leaked in breaches with a letter doubled, dropped, "
    "added, changed or swapped (or its vowels dropped)"
)
NOT_USERNAME = (
    "a password must not be built on the username: not the username as a word, nor its "
    "parts (a name of five letters or more anywhere in it)"
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
    """Seconds for the whole API check of one password."""
    breached_api_fail_open: bool = False
    """Accept a password when the API cannot be reached (never for a mirror)."""
    breached_api_allow_http: bool = False
    """Allow a plain-http API address on this machine (a test server); else https only."""
    production: bool = False
    """Refuse every password while no maintained check (mirror or API) is configured, and
    make no demo account."""

    @classmethod
    def from_config(cls, config: AppConfig) -> PasswordPolicy:
        fail_open = config.breached_api_fail_open
        return cls(
            breached_corpus=config.breached_corpus,
            breached_api=config.breached_api,
            breached_api_url=config.breached_api_url,
            breached_api_timeout=config.breached_api_timeout,
            breached_api_fail_open=config.demo if fail_open is None else fail_open,
            breached_api_allow_http=config.breached_api_allow_http,
            production=not config.demo,
        )

    @classmethod
    def configured(cls) -> PasswordPolicy:
        """The policy of the configuration named by ``$CHI_CONFIG`` (or the defaults)."""
        from chi.settings import load_config

        return cls.from_config(load_config())

    @property
    def maintained(self) -> bool:
        """Whether a maintained breached-password check (mirror or API) is configured."""
        return self.breached_corpus is not None or self.breached_api

    def local_sources(self) -> list[Source]:
        """The sources asked on this machine only: chi's sample, the force's mirror."""
        out: list[Source] = [SortedHashFile(sample_path(), "chi's sample", min_bytes=0)]
        if self.breached_corpus is not None:
            try:
                out.append(mirror(self.breached_corpus))
            except CheckUnavailable as exc:
                out.append(_Unavailable(str(exc)))
        return out

    def api(self) -> RangeApi | None:
        if not self.breached_api:
            return None
        return RangeApi(
            self.breached_api_url,
            self.breached_api_timeout,
            allow_http=self.breached_api_allow_http,
        )

    def problems(self, password: str, username: str) -> list[str]:
        """What makes ``password`` unacceptable for ``username`` (empty: nothing)."""
        if self.production and not self.maintained:
            return [NO_MAINTAINED_CHECK]
        if any("\udc80" <= c <= "\udcff" for c in password):
            return ["a password must be text: it holds bytes that are not UTF-8"]
        if any(unicodedata.category(c) == "Cc" for c in password):
            return ["a password must not hold control characters (NUL, tab, CR, LF and the like)"]
        if len(password) < MIN_LENGTH:
            return [f"a password must be at least {MIN_LENGTH} characters"]
        out: list[str] = []
        if built_on_username(password, username):
            out.append(NOT_USERNAME)
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

    def _unavailable(self, exc: CheckUnavailable, closed: bool, out: list[str]) -> None:
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

    def _breached(self, password: str, out: list[str]) -> str | None:
        typed = sha1_hex(password)
        whole = {sha1_hex(c) for c in variants(password)} | {typed}
        cores = {sha1_hex(c) for c in candidates(password)} - whole
        for source in self.local_sources():
            try:
                found = source.breached(whole | cores)
            except CheckUnavailable as exc:
                self._unavailable(exc, True, out)
                continue
            if found & whole:
                return BREACHED
            if found:
                return BREACHED_CORE
        if near_common(password):  # one trivial edit of a common password, found locally
            return BREACHED_EDIT
        api = self.api()
        if api is not None:  # one range: the password as typed (k-anonymity holds)
            try:
                if api.breached({typed}):
                    return BREACHED
            except CheckUnavailable as exc:
                self._unavailable(exc, not self.breached_api_fail_open, out)
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


_SHIFTED = str.maketrans("!@#$%^&*()", "1234567890")


def variants(password: str) -> list[str]:
    """The password as typed, without invisible characters, lower-cased, without spaces
    (both ways), and lower-cased with shifted digits unshifted, in that order."""
    out: list[str] = []
    shown = visible(password)
    for v in (
        password,
        shown,
        shown.lower(),
        "".join(shown.split()),
        "".join(shown.lower().split()),
        "".join(shown.lower().split()).translate(_SHIFTED),
    ):
        if v and v not in out:
            out.append(v)
    return out


def repeated_unit(text: str) -> str | None:
    """The unit ``text`` repeats (``password password``, ``bob1bob1bob1``, ``Liverpool!
    Liverpool``: case, separators and digits or symbols at the end aside), or None."""
    low = visible(text).lower()
    tokens = [t for t in re.split(r"[^0-9a-z]+", low) if t]
    if len(tokens) >= 2 and len(set(tokens)) == 1:
        return tokens[0]
    core = re.sub(r"[^0-9a-z]", "", low)
    for stripped in (core, core.rstrip("0123456789")):
        n = len(stripped)
        for size in range(1, n // 2 + 1):
            if n % size == 0 and stripped[:size] * (n // size) == stripped:
                return stripped[:size]
    return None


def _ends(text: str) -> list[int]:
    """How many characters may be cut from the start of ``text``: any number holding at
    most 3 letters and at most ``AROUND`` (6) digits and symbols."""
    out, letters, others = [0], 0, 0
    for i, c in enumerate(text):
        letters, others = letters + c.isalpha(), others + (not c.isalpha())
        if letters > 3 or others > AROUND:
            break
        out.append(i + 1)
    return out


def candidates(password: str) -> list[str]:
    """The trivial transformations of ``password`` looked up locally (see the module):
    cuts from the ends, digits and symbols around dropped and letters cut, reversals,
    a repeated unit, de-leeted words run together; each with at least 6 characters left
    (a repeated unit 4)."""
    out: list[str] = []

    def add(core: str, least: int = 6) -> None:
        if len(core) >= least and core not in out:
            out.append(core)

    def letters_core(v: str) -> str | None:
        start, end = 0, len(v)
        while start < end and not v[start].isalpha():
            start += 1
        while end > start and not v[end - 1].isalpha():
            end -= 1
        return v[start:end] if len(v) - (end - start) <= AROUND else None

    forms = variants(password)
    for v in forms:
        for cut in range(TRIM + 1):
            for head in range(cut + 1):
                add(v[head : len(v) - (cut - head)])
        core = letters_core(v)
        if core is not None:
            add(core)
            add(core[::-1])
        # Letters cut only from a password typed as one run (``xyzpasswordqrs``,
        # ``password.1987.pas``): in ``the engineering era`` the short words are words.
        if not any(c.isspace() for c in password):
            for head in _ends(v):
                for tail in _ends(v[::-1]):
                    add(v[head : len(v) - tail])
        add(v[::-1])
    # Its words de-leeted (the first character too) and run together.
    runs = [
        "".join(words(password, edges=edges, table=table))
        for edges in (False, True)
        for table in (_DELEET_I, _DELEET_L)
    ]
    for run in runs:
        add(run)
        add(run[::-1])
    # A word and the word reversed (``password&drowssap``, ``drowssappassword``).
    for text in [*forms, *runs]:
        core = "".join(c for c in text.lower() if c.isalpha())
        half = len(core) // 2
        if len(core) % 2 == 0 and core[:half] == core[half:][::-1]:
            add(core[:half])
    for text in [*forms, *runs]:
        unit = repeated_unit(text)
        if unit is not None:
            add(unit, least=4)
    return out


NEAR_WORD = 6
"""The shortest common password an edit of is refused (shorter ones are word pieces)."""
NEAR_CORE = 5
"""The fewest letters a password's letter core has for the edit check (``qwrty`` of
``qwerty`` is 5): a longer passphrase's core is far longer than any common password."""
_VOWELS = frozenset("aeiou")


@functools.cache
def _common_words() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The deletion index (SymSpell, distance 1) of the common passwords made of letters
    only (``NEAR_WORD`` or more) on zxcvbn's list of breached passwords (shipped with it, in
    plain text: about 17,000 words), and their consonant skeletons (``psswrd``, without
    ``aeiou`` and without ``aeiouy``) of 3 or more letters. Built once per process; a few
    megabytes."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    index: dict[str, set[str]] = {}
    skeletons: set[str] = set()
    for word in FREQUENCY_LISTS["passwords"]:
        if len(word) < NEAR_WORD or not word.isascii() or not word.isalpha():
            continue
        for key in {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}:
            index.setdefault(key, set()).add(word)
        for vowels in ("aeiou", "aeiouy"):
            skeleton = "".join(c for c in word if c not in vowels)
            if len(skeleton) >= 3 and skeleton != word:
                skeletons.add(skeleton)
    return {k: tuple(v) for k, v in index.items()}, frozenset(skeletons)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are at most one edit apart (a letter dropped, added or
    changed, or two neighbours swapped: optimal string alignment distance <= 1)."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def letter_cores(password: str) -> list[str]:
    """The password's letter cores for the edit check: its letters alone, folded and
    lower-cased (``pas7sword2024!`` is ``password``, ``Passsword2024!!`` is
    ``passsword``), and its de-leeted words run together."""
    out: list[str] = []
    for core in (
        "".join(c for c in fold(visible(password)).lower() if c.isalpha()),
        "".join(words(password)),
        "".join(words(password, edges=True, table=_DELEET_L)),
    ):
        half = len(core) // 2
        for form in (core, core[:half] if core[:half] == core[half:][::-1] else ""):
            if form and form not in out:  # a word and the word reversed: the word
                out.append(form)
    return out


def near_common(password: str) -> bool:
    """Whether a letter core of ``password`` (``NEAR_CORE`` letters or more) is one edit
    from a common password (``passsword``, ``qwrty``, ``passworx``, ``qwrety``) or is one's
    consonants alone (``psswrd``)."""
    index, skeletons = _common_words()
    for core in letter_cores(password):
        if len(core) >= 3 and not (_VOWELS & set(core)) and core in skeletons:
            return True  # its vowels dropped (``drgn`` of ``dragon``): no passphrase is so
        if len(core) < NEAR_CORE or len(core) > 40:
            continue
        keys = {core, *(core[:i] + core[i + 1 :] for i in range(len(core)))}
        for key in keys:
            if any(_one_edit(core, word) for word in index.get(key, ())):
                return True
    return False


def _zxcvbn(password: str, username: str) -> tuple[int, bool]:
    """zxcvbn's score (of the unit, for a repetition), and whether it finds the whole
    password on its list of breached passwords (tens of thousands, shipped with it)."""
    from zxcvbn import zxcvbn

    text = visible(password)[:ZXCVBN_MAX]
    unit = repeated_unit(text)
    inputs = [username, *username_parts(username)]
    result = zxcvbn(text, user_inputs=inputs)
    listed = any(
        m.get("pattern") == "dictionary"
        and m.get("dictionary_name") == "passwords"
        and m["i"] == 0
        and m["j"] == len(text) - 1
        for m in result["sequence"]
    )
    score = int(result["score"])
    if unit is not None:
        score = min(score, int(zxcvbn(unit[:ZXCVBN_MAX], user_inputs=inputs)["score"]))
    return score, listed


_DIGIT_LEET = {k: v for k, v in _LEET.items() if k.isdigit()}


def words(text: str, edges: bool = False, table: dict[str, str] = _LEET) -> list[str]:
    """``text`` as de-leeted, folded words (:func:`chi.state.lookalike.fold`): runs of
    letters and look-alike digits and symbols that hold a letter. The digits and symbols at
    a run's ends are dropped (they are "around" the word: ``bob!!``), or with ``edges`` read
    as letters too (``8ob``). A change from lower to upper case starts a new word."""
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

    split = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", visible(text))
    for c in fold(split):
        if c.isalpha() or c in table:
            run.append(c)
        else:
            close()
    close()
    return out


@functools.cache
def _known_names() -> frozenset[str]:
    import csv

    from chi.reference import data_dir

    names: set[str] = set()
    for kind in ("forenames", "surnames"):
        path = data_dir() / "names" / f"{kind}.csv"
        try:
            with path.open(encoding="utf-8") as f:
                names.update(fold(r["name"]) for r in csv.DictReader(f) if r.get("name"))
        except OSError:
            continue
    return frozenset(n for n in names if n.isalpha() and len(n) >= 3)


def _splits(part: str) -> list[str]:
    """A run-together username part as an initial and a name (``jsmith``, ``smithj``) or two
    names of ``data/names`` (``smithjones``, ``johnsmith``)."""
    if len(part) < 5 or not part.isalpha():
        return []
    names = _known_names()
    out: list[str] = []
    if part[1:] in names or len(part) >= 7:  # an unknown surname: six letters or more
        out += [part[0], part[1:]]
    if part[:-1] in names:
        out += [part[:-1], part[-1]]
    for cut in range(3, len(part) - 2):
        if part[:cut] in names and part[cut:] in names:
            out += [part[:cut], part[cut:]]
    return out


def username_parts(username: str) -> list[str]:
    """A username's words, split on its separators first (``bob.jones2@force.uk`` ->
    ``bob``, ``jones``, ``force``, ``uk``: an ``@`` there is no ``a``), then run-together
    words split into an initial and a name or two names (``jsmith`` -> ``j``, ``smith``)."""
    chunks = re.split(r"[._\-@\s]+", username)
    found = [w for chunk in chunks for w in words(chunk)]
    found += [s for w in found for s in _splits(w)]
    return list(dict.fromkeys(found))


def _made_of(text: str, parts: set[str]) -> bool:
    """Whether ``text`` is a run of ``parts`` (any order, repeated)."""
    reach = [True] + [False] * len(text)  # reach[i]: text[:i] is a run of parts
    for i in range(len(text)):
        if reach[i]:
            for p in parts:
                if p and text.startswith(p, i):
                    reach[i + len(p)] = True
    return reach[-1]


def _collapse(text: str) -> str:
    return re.sub(r"(.)\1+", r"\1", text)


_NORMS = (
    lambda t: t,
    _collapse,
    lambda t: t.replace("z", "s"),
    lambda t: _collapse(t.replace("z", "s")),
)
"""The forms both sides are compared in: as folded, doubled letters collapsed, z as s."""


def _readings(password: str) -> list[list[str]]:
    """The password's words read several ways: look-alike digits and symbols as letters
    (inside words; at their ends too), digits only as letters, and letters only."""
    return [
        words(password),
        words(password, edges=True),
        words(password, table=_DIGIT_LEET),
        words(password, table={}),
    ]


def _at_words(form: str, reading: list[str]) -> bool:
    """Whether ``form`` is one whole word of ``reading`` or a run of adjacent whole words."""
    for i in range(len(reading)):
        joined = ""
        for w in reading[i:]:
            joined += w
            if joined == form:
                return True
            if len(joined) >= len(form):
                break
    return False


def _joins(base: list[str]) -> set[str]:
    """Runs of two or more adjacent username words, joined (``s.o-neil``: ``so``, ``oneil``,
    ``soneil``)."""
    return {"".join(base[i:j]) for i in range(len(base)) for j in range(i + 2, len(base) + 1)}


def built_on_username(password: str, username: str) -> bool:
    """Whether ``password`` is the username or built on its parts (see the module)."""
    base = [w for chunk in re.split(r"[._\-@\s]+", username) for w in words(chunk)]
    parts = username_parts(username)
    raw_password = "".join(c for c in fold(password) if c.isalnum())
    # A run of four or more digits in the username (a collar number) counts alone too.
    if any(d in raw_password for d in re.findall(r"[0-9]{4,}", fold(username))):
        return True
    if not parts:
        return False
    readings = _readings(password)
    for norm in _NORMS:
        normed = {norm(p) for p in parts} - {""}
        joined = norm("".join(base))
        forms = normed | {joined}
        any_order = forms | {f[::-1] for f in forms}
        strong = {f for f in normed if len(f) >= MIN_PART}
        if joined and max((len(p) for p in base), default=0) >= MIN_PART:
            strong.add(joined)
        weak = {f for f in forms if len(f) == MIN_PART - 1 or (f == joined and f not in strong)}
        weak = {f for f in weak if len(f) >= MIN_PART - 1}
        # Adjacent parts joined are parts too, as whole words (``ONeil`` for s.o-neil).
        weak |= {norm(j) for j in _joins(base)} - {""}
        # The whole username as a whole word, whatever its length (``Tom`` for tom).
        weak |= {joined} - {""}
        for reading in readings:
            ws = [norm(w) for w in reading]
            run = "".join(ws)
            if not run:
                continue
            if _made_of(run, any_order):
                return True
            if any(f in run or f[::-1] in run for f in strong):
                return True
            if any(_at_words(f, ws) for f in weak):
                return True
    raw_user = "".join(c for c in fold(username) if c.isalnum())
    if any(c.isdigit() for c in raw_user) and len(raw_user) >= MIN_PART - 1:
        return raw_user in raw_password or (
            len(raw_user) >= MIN_PART and raw_user[::-1] in raw_password
        )
    return False


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
