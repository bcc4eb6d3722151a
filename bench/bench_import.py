"""Benchmark: ``chi import`` of a force-shaped CSV export.

    python bench/bench_import.py [--work DIR] [--months 12] [--scale 1]

Generates a clean extract, writes it as a force might export it (other column names,
``DD/MM/YYYY`` dates, ``Y``/``N`` flags, status words, every crime with only its Home Office
class, spelt ``8/1``), then times ``chi import`` in a subprocess and prints the wall time and
rows. A figure, not a test.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

MAPPING = """\
[source]
format = "csv"
date_format = "%d/%m/%Y"
true_values = ["Y"]
false_values = ["N"]

[extract]
force = "Cambridgeshire"

[crimes]
file = "offences.csv"
[crimes.columns]
crime_id = "Crime Ref"
recorded_date = "Date Recorded"
occurred_date = "Date Committed"
offence_code = "Offence"
ho_class = "HO Class"
lsoa_code = "LSOA"
domestic_abuse = "DA"
da_relationship = "Relationship"
hate = "Hate"
status = "Status"
outcome_code = "Outcome"
outcome_date = "Outcome Date"
[crimes.values.status]
"Confirmed" = "recorded"
"No Crime" = "cancelled"
"Transferred" = "transferred"

[persons]
file = "nominals.csv"
[persons.columns]
person_id = "Nominal Ref"
person_type = "Type"
name = "Name"
sex = "Gender"
birth_date = "DOB"
ethnicity = "Ethnicity"
home_lsoa_code = "Home LSOA"
deceased_date = "Died"

[victims]
file = "victims.csv"
[victims.columns]
crime_id = "Crime Ref"
person_id = "Nominal Ref"
dash_risk = "DASH"

[suspects]
file = "suspects.csv"
[suspects.columns]
crime_id = "Crime Ref"
person_id = "Nominal Ref"
role = "Role"
"""

UK = "%d/%m/%Y"


def _read(extract: Path, name: str) -> pl.DataFrame:
    single = extract / f"{name}.parquet"
    files = [single] if single.exists() else sorted((extract / name).rglob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")


def write_export(extract: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True)
    sheet = pl.read_csv(
        Path(__file__).resolve().parents[1] / "data/weights/chi_2020.csv", infer_schema=False
    )
    class_of = dict(zip(sheet["offence_key"], sheet["ho_class"], strict=True))
    crimes = _read(extract, "crimes")
    classes = [
        class_of.get(k or "", h)
        for k, h in zip(crimes["offence_code"], crimes["ho_class"], strict=True)
    ]
    spelt = [None if c is None else f"{int(c[:3])}/{int(c[4:])}" for c in classes]
    flag = {True: "Y", False: "N"}
    crimes.select(
        pl.col("crime_id").alias("Crime Ref"),
        pl.col("recorded_date").dt.strftime(UK).alias("Date Recorded"),
        pl.col("occurred_date").dt.strftime(UK).alias("Date Committed"),
        pl.lit(None, pl.String).alias("Offence"),
        pl.Series("HO Class", spelt, dtype=pl.String),
        pl.col("lsoa_code").alias("LSOA"),
        pl.col("domestic_abuse").replace_strict(flag, return_dtype=pl.String).alias("DA"),
        pl.col("da_relationship").alias("Relationship"),
        pl.col("hate").replace_strict(flag, return_dtype=pl.String).alias("Hate"),
        pl.col("status")
        .replace_strict(
            {"recorded": "Confirmed", "cancelled": "No Crime", "transferred": "Transferred"},
            default=pl.col("status"),
        )
        .alias("Status"),
        pl.col("outcome_code").alias("Outcome"),
        pl.col("outcome_date").dt.strftime(UK).alias("Outcome Date"),
    ).write_csv(out / "offences.csv")
    persons = _read(extract, "persons")
    persons.select(
        pl.col("person_id").alias("Nominal Ref"),
        pl.col("person_type").alias("Type"),
        pl.col("name").alias("Name"),
        pl.col("sex").alias("Gender"),
        pl.col("birth_date").dt.strftime(UK).alias("DOB"),
        pl.col("ethnicity").alias("Ethnicity"),
        pl.col("home_lsoa_code").alias("Home LSOA"),
        pl.col("deceased_date").dt.strftime(UK).alias("Died"),
    ).write_csv(out / "nominals.csv")
    victims = _read(extract, "victims")
    victims.rename(
        {"crime_id": "Crime Ref", "person_id": "Nominal Ref", "dash_risk": "DASH"}
    ).write_csv(out / "victims.csv")
    suspects = _read(extract, "suspects")
    suspects.rename(
        {"crime_id": "Crime Ref", "person_id": "Nominal Ref", "role": "Role"}
    ).write_csv(out / "suspects.csv")
    (out / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return {
        "crimes": crimes.height,
        "persons": persons.height,
        "victims": victims.height,
        "suspects": suspects.height,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        root = Path(tmp)
        gen = [
            sys.executable,
            "-m",
            "chi",
            "generate",
            str(root / "gen"),
            "--seed",
            "1",
            "--start",
            "2024-01",
            "--months",
            str(args.months),
            "--scale",
            str(args.scale),
            "--defects",
            "0",
        ]
        subprocess.run(gen, check=True, capture_output=True)
        rows = write_export(root / "gen", root / "export")
        cmd = [
            sys.executable,
            "-m",
            "chi",
            "import",
            str(root / "export"),
            "--mapping",
            str(root / "export" / "mapping.toml"),
            "--out",
            str(root / "extract"),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        elapsed = time.perf_counter() - t0
    total = sum(rows.values())
    print(
        f"chi import, {args.months} months at scale {args.scale}: {elapsed:.1f} s wall "
        f"for {total:,} rows ({', '.join(f'{k} {v:,}' for k, v in rows.items())})"
    )


if __name__ == "__main__":
    main()
