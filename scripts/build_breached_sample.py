"""Build chi's bundled breached-password sample, ``data/passwords/sample-sha1.txt``.

Standard library only. The sample is the union of

- Django's ``common-passwords.txt.gz`` (20,000 common passwords from breaches, lower-cased,
  compiled by Royce Williams; shipped in the ``django`` package under its BSD licence), read
  from an installed Django or straight from a Django wheel (``pip download --no-deps
  django``), and
- ``data/passwords/published.txt`` (passwords published as examples, with their sources),

each password as given and lower-cased, written as ``SHA1:1`` lines sorted by hash: the
format of the Pwned Passwords single-file download, so chi reads the sample and a force's
mirror with the same code. A rebuild from the same inputs gives a byte-identical file.

    python scripts/build_breached_sample.py --django PATH-TO-WHEEL-OR-SITE-PACKAGES
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import zipfile
from pathlib import Path

MEMBER = "django/contrib/auth/common-passwords.txt.gz"


def django_list(source: Path) -> list[str]:
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(MEMBER)
    else:
        raw = (source / MEMBER).read_bytes()
    return gzip.decompress(raw).decode("utf-8").splitlines()


def published(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [x for x in lines if x and not x.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--django", type=Path, required=True, help="Django wheel or site-packages")
    parser.add_argument("--data", type=Path, default=Path(__file__).parent.parent / "data")
    args = parser.parse_args()
    folder = args.data / "passwords"
    words = django_list(args.django) + published(folder / "published.txt")
    passwords = {w for w in words if w} | {w.lower() for w in words if w}
    hashes = sorted(
        hashlib.sha1(p.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        for p in passwords
    )
    out = folder / "sample-sha1.txt"
    out.write_text("".join(f"{h}:1\n" for h in hashes), encoding="ascii", newline="\n")
    print(f"{out}: {len(hashes)} hashes from {len(words)} listed passwords")


if __name__ == "__main__":
    main()
