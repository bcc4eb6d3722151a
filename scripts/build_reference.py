"""Rebuild chi's reference data in ``data/`` from the public files in ``../shared/data``.

chi never reads ``../shared`` at run time: this script is how the small, clean tables in
``data/`` were made, so anyone can check or rebuild them. It uses the standard library only.

    python scripts/build_reference.py [--shared ../shared/data] [--out data]

Every output is sorted and written with ``\\n`` line endings, so a rebuild from the same
sources gives byte-identical files (and the same checksums in ``weights/registry.json``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Contains National Statistics data (c) Crown copyright and database right."
)

# police.uk street-file category names, as chi spells them everywhere.
CATEGORIES = [
    "Violence and sexual offences",
    "Shoplifting",
    "Criminal damage and arson",
    "Other theft",
    "Public order",
    "Vehicle crime",
    "Burglary",
    "Other crime",
    "Bicycle theft",
    "Drugs",
    "Possession of weapons",
    "Theft from the person",
    "Robbery",
]
_CATEGORY_BY_LOWER = {c.lower(): c for c in CATEGORIES}


def _rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV whose leading ``#`` lines are provenance notes."""
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_geography(shared: Path, out: Path) -> set[str]:
    lookup = _rows(shared / "geography/cambs_pboro_lsoa21_lookup.csv")
    rows = sorted(
        [
            r["lsoa21cd"],
            r["lsoa21nm"],
            r["ward25cd_bestfit"],
            r["ward25nm_bestfit"],
            r["lad_code"],
            r["lad_name"],
            r["policing_area"],
            round(float(r["centroid_lat"]), 6),
            round(float(r["centroid_lon"]), 6),
        ]
        for r in lookup
    )
    _write(
        out / "geography/lsoa.csv",
        [
            "lsoa_code",
            "lsoa_name",
            "neighbourhood_code",
            "neighbourhood_name",
            "district_code",
            "district_name",
            "area",
            "centroid_lat",
            "centroid_lon",
        ],
        rows,
    )
    # The neighbourhoods (their districts and areas) are read from lsoa.csv itself
    # (chi.reference.geography): one file, as a force supplies its own.
    return {r["lsoa21cd"] for r in lookup}


def build_weights(shared: Path, out: Path) -> None:
    chi = _rows(shared / "weights/cchi_2020_values_sheet.csv")
    header = ["offence_key", "ho_class", "offence_group", "classification_code", "title", "weight"]
    chi_rows = []
    for r in chi:
        key = r["athena_urn"].strip()
        chi_rows.append(
            [
                key,
                r["home_office_classification"].strip(),
                key.split(".", 1)[0],
                r["classification_code"].strip(),
                r["short_title"].strip() or r["full_offence_title"].strip(),
                r["cchi_score"].strip(),
            ]
        )
    chi_rows.sort(key=lambda x: str(x[0]))
    _write(out / "weights/chi_2020.csv", header, chi_rows)

    # ONS Crime Severity Score: one weight per Home Office offence code, spread onto the
    # same offence keys so both sets resolve through the same exact/class/group order.
    css: dict[str, float] = {}
    for r in _rows(shared / "weights/ons_css_weights_policeuk_join_mopd.csv"):
        code = r["ONS_SEVERITY_code"].strip()
        if r["ONS_SEVERITY_weight"].strip():
            css[code] = float(r["ONS_SEVERITY_weight"])
    crosswalk = _rows(shared / "derived/ho_code_crosswalk_cchi2020_ons_css_policeuk.csv")
    code_to_css: dict[str, float] = {}
    for r in crosswalk:
        w = r["ons_css_weight_c2020"].strip()
        for cc in filter(None, r["cchi2020_classification_codes_matched"].split("|")):
            if w:
                code_to_css.setdefault(cc, float(w))
    for code, w in css.items():
        code_to_css.setdefault(code, w)
    ons_rows = [
        [*row[:5], f"{code_to_css[str(row[3])]:.2f}"]
        for row in chi_rows
        if str(row[3]) in code_to_css
    ]
    _write(out / "weights/ons_css_2020.csv", header, ons_rows)

    registry = [
        {
            "name": "chi2020",
            "version": "2020-10-06",
            "file": "chi_2020.csv",
            "sha256": _sha256(out / "weights/chi_2020.csv"),
            "unit": "days",
            "rows": len(chi_rows),
            "title": "Cambridge Crime Harm Index 2020 values sheet",
            "source": "Cambridge Centre for Evidence-Based Policing, CCHI 2020 update",
        },
        {
            "name": "ons_css",
            "version": "c2020",
            "file": "ons_css_2020.csv",
            "sha256": _sha256(out / "weights/ons_css_2020.csv"),
            "unit": "severity points (approx. days)",
            "rows": len(ons_rows),
            "title": "ONS Crime Severity Score weights, by Home Office offence code",
            "source": "ONS cssdatatool 'List of weights' (via M-O-P-D/Police-Supply-Demand)",
        },
    ]
    (out / "weights/registry.json").write_text(json.dumps(registry, indent=2) + "\n")


def build_calibration(shared: Path, out: Path, lsoas: set[str]) -> None:
    place: Counter[tuple[str, str]] = Counter()
    month: Counter[tuple[str, str]] = Counter()
    outcomes: Counter[tuple[str, str]] = Counter()
    files = sorted((shared / "cambridgeshire_2024/street").glob("*.csv"))
    for f in files:
        with f.open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                cat = r["Crime type"]
                if cat == "Anti-social behaviour":
                    continue
                code = r["LSOA code"].strip()
                where = code if code in lsoas else ("NONE" if not code else "OUTSIDE")
                place[(where, cat)] += 1
                month[(r["Month"], cat)] += 1
                outcomes[(cat, r["Last outcome category"].strip() or "(blank)")] += 1
    _write(
        out / "calibration/lsoa_category_2024.csv",
        ["lsoa_code", "category", "crimes"],
        sorted([k[0], k[1], v] for k, v in place.items()),
    )
    _write(
        out / "calibration/month_category_2024.csv",
        ["month", "category", "crimes"],
        sorted([k[0], k[1], v] for k, v in month.items()),
    )
    _write(
        out / "calibration/outcomes_2024.csv",
        ["category", "last_outcome_category", "crimes"],
        sorted([k[0], k[1], v] for k, v in outcomes.items()),
    )

    crosswalk = {
        r["ho_offence_code"]: r["cchi2020_classification_codes_matched"]
        for r in _rows(shared / "derived/ho_code_crosswalk_cchi2020_ons_css_policeuk.csv")
    }
    mix = []
    for r in _rows(shared / "offence_codes/cambridgeshire_prc_by_offence_code_2017_18.csv"):
        cat = _CATEGORY_BY_LOWER.get(r["policeuk_crime_type"].strip().lower())
        if cat is None:
            continue
        mix.append(
            [
                r["offence_code"],
                r["offence_description"],
                cat,
                int(r["total_2017_18"]),
                crosswalk.get(r["offence_code"], ""),
            ]
        )
    mix.sort(key=lambda x: (str(x[2]), -int(str(x[3])), str(x[0])))
    _write(
        out / "calibration/offence_mix_2017_18.csv",
        ["ho_code", "description", "category", "crimes", "chi_classification_codes"],
        mix,
    )


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=here.parent / "shared/data")
    ap.add_argument("--out", type=Path, default=here / "data")
    args = ap.parse_args()
    lsoas = build_geography(args.shared, args.out)
    build_weights(args.shared, args.out)
    build_calibration(args.shared, args.out, lsoas)
    print(f"reference data written to {args.out}")


if __name__ == "__main__":
    main()
