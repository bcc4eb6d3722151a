"""The password policy for local accounts, as a force's security officer would set it
(NCSC and NIST SP 800-63B guidance: length, no known-breached or easily guessed passwords,
no composition rules).

- At least ``MIN_LENGTH`` (12) characters.
- Not a password known from breaches, nor one a guesser would try early: ``zxcvbn`` (a
  maintained estimator that ships the frequency lists of passwords leaked in public
  breaches, offline, so no password leaves the server) must not find the whole password in
  its breached-password list, and must rate it at least ``MIN_SCORE`` (3 of 4: "safely
  unguessable" against an online attack, guarded against offline attack by argon2id).
- Not the username, and not built on it (nor on its parts).

Messages say what is wrong, never the password. Demo accounts (``chi demo``) are outside
the policy: they exist only in demonstration mode.
"""

from __future__ import annotations

import re

MIN_LENGTH = 12
MIN_SCORE = 3


def problems(password: str, username: str) -> list[str]:
    """What makes ``password`` unacceptable for ``username`` (empty: nothing)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_LENGTH:
        return [f"a password must be at least {MIN_LENGTH} characters"]
    out: list[str] = []
    parts = [p for p in re.split(r"[._\-@]+", username.lower()) if len(p) >= 3]
    lowered = password.lower()
    if username.lower() in lowered or any(p in lowered for p in parts):
        out.append("a password must not contain the username")
    result = zxcvbn(password[:100], user_inputs=[username, *parts])
    whole = [
        m
        for m in result["sequence"]
        if m.get("pattern") == "dictionary"
        and m.get("dictionary_name") == "passwords"
        and m["i"] == 0
        and m["j"] == len(password[:100]) - 1
    ]
    if whole:
        out.append("this password is on a list of passwords leaked in breaches")
    elif int(result["score"]) < MIN_SCORE:
        out.append(
            "this password is too easy to guess: use three or more random words, "
            "or a longer passphrase"
        )
    return out
