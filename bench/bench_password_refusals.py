"""Measure: how often the password policy refuses a good random passphrase.

    python bench/bench_password_refusals.py WORDLIST [--n 200] [--seed 2026]

WORDLIST is the EFF long wordlist (``eff_large_wordlist.txt``: ``11111<tab>abacus`` lines;
the ``diceware`` package ships it as ``wordlists/wordlist_en_eff.txt``). Builds ``--n``
four-word passphrases (separators space, ``-``, none and ``.`` in turn) from a seeded random
generator and prints, for each of ten usernames (initials with short surnames among them,
where parts are common word pieces), how many chi's policy refuses (chi's bundled sample,
outside production: no mirror, no API) and the first few. Every such passphrase is a good
password, so every refusal is a false one. Figures go in docs/deployment.md ("False
refusals, measured").
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

USERNAMES = (
    "jsmith", "bob.jones", "sarah.oneil", "k.smith-jones", "pc4521",
    "t.able", "r.ring", "tom.king", "j.ward", "rose.hill",
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wordlist", type=Path)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    from chi.state.passwords import PasswordPolicy

    text = args.wordlist.read_text(encoding="utf-8")
    words = [line.split()[-1] for line in text.splitlines() if line.strip()]
    rng = random.Random(args.seed)
    seps = (" ", "-", "", ".")
    phrases = [seps[i % 4].join(rng.choice(words) for _ in range(4)) for i in range(args.n)]
    policy = PasswordPolicy()
    total = 0
    for username in USERNAMES:
        refused = [p for p in phrases if policy.problems(p, username)]
        total += len(refused)
        share = 100 * len(refused) / args.n
        print(f"{username:14s} refused {len(refused):3d}/{args.n} = {share:4.1f}%  {refused[:3]}")
    runs = args.n * len(USERNAMES)
    print(f"all: {total}/{runs} = {100 * total / runs:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
