"""Build ``data/offences/class_typical.csv``: the typical offence of each Home Office subclass.

The alternative class-level rule (``class_rule = "typical"``) weights a crime that carries only
its Home Office class/subclass by the *typical* offence of that subclass instead of its lowest
weight. The typical offence is chosen from published recorded-crime volumes:

1. the subclass's offence keys in the CHI 2020 sheet, attempts (keys ending in ``A``) left out
   unless the subclass has nothing else;
2. among them, the keys whose Home Office offence code (the sheet's ``classification_code``)
   was recorded most often by Cambridgeshire Constabulary in 2017/18 (Home Office police
   recorded crime by PFA and offence code, ``data/calibration/offence_mix_2017_18.csv``);
3. published counts stop at the offence code, so when that code still has several keys in the
   subclass, the first of them in the sheet's order (the sheet lists the principal offence
   first: s.20 GBH with a serious wound before a minor wound, burglary of a dwelling before a
   non-dwelling).

Reads only ``data/`` (standard library), so the table can be rebuilt and checked anywhere:

    python scripts/build_offence_rules.py [--data data]

``tests/test_offence_rules.py`` rebuilds it in memory and compares.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

_CLASS = re.compile(r"0*([0-9]{1,3})/0*([0-9]{1,2})|([0-9]{3})([0-9]{2})")

HEADER = [
    "ho_class",
    "offence_key",
    "title",
    "weight_chi2020",
    "lowest_chi2020",
    "classification_code",
    "code_crimes_2017_18",
    "keys_in_class",
    "chosen_by",
]


def normal_class(text: str) -> str | None:
    m = _CLASS.fullmatch(text.strip())
    if not m:
        return None
    a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return f"{int(a):03d}/{int(b):02d}"


def _code_crimes(data: Path) -> dict[str, int]:
    crimes: dict[str, int] = {}
    with (data / "calibration" / "offence_mix_2017_18.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for code in (row["chi_classification_codes"] or "").split("|"):
                if code:
                    crimes[code] = crimes.get(code, 0) + int(row["crimes"])
    return crimes


def build(data: Path) -> str:
    crimes = _code_crimes(data)
    with (data / "weights" / "chi_2020.csv").open(encoding="utf-8") as fh:
        sheet = list(csv.DictReader(fh))
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in sheet:
        cls = normal_class(row["ho_class"])
        if cls is not None:
            by_class.setdefault(cls, []).append(row)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for cls in sorted(by_class):
        rows = by_class[cls]
        whole = [r for r in rows if not r["offence_key"].endswith("A")] or rows
        volume = {r["offence_key"]: crimes.get(r["classification_code"], 0) for r in whole}
        top = max(volume.values())
        candidates = [r for r in whole if volume[r["offence_key"]] == top]
        chosen = candidates[0]
        if len(rows) == 1:
            how = "only offence"
        elif all(r["offence_key"].endswith("A") for r in rows):
            how = "every offence is an attempt, first key in the sheet"
        elif len(whole) == 1:
            how = "only offence that is not an attempt"
        elif len({r["classification_code"] for r in candidates}) < len(
            {r["classification_code"] for r in whole}
        ):
            how = "most recorded code" + (", first key of it" if len(candidates) > 1 else "")
        else:
            how = "first key in the sheet"
        lowest = min(rows, key=lambda r: float(r["weight"]))["weight"]
        w.writerow(
            [
                cls,
                chosen["offence_key"],
                chosen["title"],
                chosen["weight"],
                lowest,
                chosen["classification_code"],
                top,
                len(rows),
                how,
            ]
        )
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    args = ap.parse_args()
    target = args.data / "offences" / "class_typical.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build(args.data), encoding="utf-8", newline="")
    print(target)


if __name__ == "__main__":
    main()
