"""Text as the letters it looks like, for comparing a password with a username.

``fold`` drops invisible format characters (zero-width spaces, soft hyphens, direction
marks), applies Unicode NFKC (full-width and mathematical letters), drops accents, and reads
every character that looks like a Latin letter or digit as that letter: the Unicode
confusables data of UTS #39 (shipped by the maintained ``confusable-homoglyphs`` package)
first, then the character's Unicode name (``LATIN LETTER SMALL CAPITAL B``, ``NEGATIVE
SQUARED LATIN CAPITAL LETTER B``), a letter with marks over it in that data (Cherokee
``Ꮎ`` is ``O`` with a stroke: ``o``), and a look-alike of a look-alike. It maps the text as
shown, case-folds, and maps and case-folds again: a capital and a small letter that look
alike fold alike (``ИВАН`` and ``иван``), and a capital Greek nu is an N, not a small nu's v.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib.resources import files

_NAMED = re.compile(
    r"\bLATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL |DOTLESS |SCRIPT )?([A-Z])"
    r"(?: WITH .*)?$"
)
_EXTRA = str.maketrans(
    "АВЕКМНОРСТХУІЈЅаеорсухіјѕкмΑΒΕΖΗΙΚΜΝΟΡΤΥΧαεικνορτυχ",
    "abekmhopctxyijsaeopcyxijskmabezhikmnoptyxaeikvoptux",
)
"""Common Cyrillic and Greek look-alikes, read even where the confusables data differs."""


@functools.cache
def _confusables() -> dict[str, list[str]]:
    text = (files("confusable_homoglyphs") / "confusables.json").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(text)
    return {k: [g["c"] for g in v] for k, v in data.items()}


def _ascii(c: str) -> str | None:
    if len(c) == 1 and c.isascii() and c.isalnum():
        return c.lower()
    match = _NAMED.search(unicodedata.name(c, "")) if len(c) == 1 else None
    return match.group(1).lower() if match else None


@functools.cache
def _table() -> dict[str, str]:
    data = _confusables()
    out: dict[str, str] = {}
    for key, glyphs in data.items():  # an ASCII letter lists the characters like it
        if len(key) == 1 and key.isascii() and key.isalnum():
            for g in glyphs:
                if len(g) == 1 and not g.isascii():
                    out.setdefault(g, key.lower())
    for key, glyphs in data.items():  # a character like an ASCII one, or like a named one
        if len(key) == 1 and not key.isascii() and key not in out:
            for g in glyphs:
                # A glyph of a letter and marks over it (Cherokee NA is "O" and a stroke).
                bare = "".join(x for x in g if not unicodedata.combining(x))
                found = _ascii(bare) if len(bare) == 1 else None
                found = found or (out.get(g) if len(g) == 1 else None)
                if found:
                    out[key] = found
                    break
    return out


@functools.cache
def latin(c: str) -> str:
    """The ASCII letter or digit ``c`` looks like (``c`` itself when none, or ASCII)."""
    if c.isascii():
        return c
    mapped = c.translate(_EXTRA)
    if mapped != c:
        return mapped
    return _table().get(c) or _ascii(c) or c


def fold(text: str) -> str:
    """``text`` as the lower-case Latin letters (and digits) it looks like (see the module)."""
    shown = "".join(c for c in text if unicodedata.category(c) != "Cf")
    plain = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", shown))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    # Mapped before case-folding (a capital Greek nu looks like N, its small form like v),
    # then again after it, so a capital and a small letter that look alike fold alike.
    once = "".join(latin(c) for c in plain).casefold()
    return "".join(latin(c) for c in once).casefold()


def visible(text: str) -> str:
    """``text`` without invisible format characters (zero-width, soft hyphen, marks)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")
