"""An independent recomputation of the victim list from the generated extract, in polars.

It shares nothing with the SQL but the run's list of rejected rows (file and row), and
recomputes every listed victim's harm, crimes, DA crimes and neighbourhood from the raw files
and the weight CSV, following contract §3 as written. The two must agree exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from chi.reference import data_dir
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish

TYPES: dict[str, dict[str, type[pl.DataType]]] = {
    "crimes": {
        "recorded_date": pl.Date,
        "domestic_abuse": pl.Boolean,
    },
    "persons": {"birth_date": pl.Date, "deceased_date": pl.Date},
}


def _read(folder: Path, table: str) -> pl.DataFrame:
    files = (
        [folder / f"{table}.parquet"]
        if (folder / f"{table}.parquet").exists()
        else sorted((folder / table).rglob("*.parquet"))
    )
    parts = []
    for f in files:
        df = pl.read_parquet(f).with_columns(
            pl.lit(f.relative_to(folder).as_posix()).alias("_file"),
            (pl.int_range(pl.len()) + 1).alias("_row"),
        )
        for col, dtype in TYPES.get(table, {}).items():
            if df[col].dtype == pl.String:
                expr = (
                    pl.col(col).str.to_date(strict=False)
                    if dtype == pl.Date
                    else pl.col(col)
                    .str.to_lowercase()
                    .replace_strict(
                        {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
                    )
                )
            else:
                expr = pl.col(col).cast(dtype, strict=False)
            df = df.with_columns(expr.alias(col))
        parts.append(df)
    return pl.concat(parts, how="diagonal_relaxed")


def _accepted(folder: Path, table: str, rejects: pl.DataFrame) -> pl.DataFrame:
    bad = (
        rejects.filter(pl.col("table") == table)
        .select(pl.col("file").alias("_file"), pl.col("row").cast(pl.Int64).alias("_row"))
        .unique()
    )
    return (
        _read(folder, table)
        .with_columns(pl.col("_row").cast(pl.Int64))
        .join(bad, on=["_file", "_row"], how="anti")
    )


def _norm_class(col: str) -> pl.Expr:
    parts = pl.col(col).str.strip_chars().str.split("/")
    ok = pl.col(col).str.strip_chars().str.contains(r"^[0-9]{1,3}/[0-9]{1,2}$")
    return (
        pl.when(ok)
        .then(
            parts.list.get(0, null_on_oob=True).str.zfill(3)
            + "/"
            + parts.list.get(1, null_on_oob=True).str.zfill(2)
        )
        .otherwise(pl.col(col).str.strip_chars())
    )


@pytest.mark.slow
def test_victim_list_agrees_with_an_independent_recomputation(
    generated_extract: Path, tmp_path: Path
) -> None:
    policy = Policy()
    run = open_run(score_and_publish(generated_extract, tmp_path / "runs", policy))
    rejects = pl.read_parquet(run.file("rejects"))
    crimes = _accepted(generated_extract, "crimes", rejects)
    persons = _accepted(generated_extract, "persons", rejects)
    victims = _accepted(generated_extract, "victims", rejects)

    w = pl.read_csv(data_dir() / "weights" / "chi_2020.csv", infer_schema=False).with_columns(
        pl.col("weight").cast(pl.Decimal(18, 2)), _norm_class("ho_class").alias("ho_class")
    )
    exact = w.select(pl.col("offence_key").alias("offence_code"), pl.col("weight").alias("w1"))
    by_class = w.group_by("ho_class").agg(pl.col("weight").min().alias("w2"))
    by_group = w.group_by("offence_group").agg(pl.col("weight").min().alias("w3"))
    crimes = (
        crimes.filter(pl.col("status") == "recorded")
        .with_columns(
            pl.col("offence_code").str.strip_chars().replace("", None),
            _norm_class("ho_class").replace("", None).alias("ho_class"),
        )
        .with_columns(pl.col("offence_code").str.split(".").list.first().alias("offence_group"))
        .join(exact, on="offence_code", how="left")
        .join(by_class, on="ho_class", how="left")
        .join(by_group, on="offence_group", how="left")
        .with_columns(pl.coalesce("w1", "w2", "w3").alias("weight"))
    )
    lsoa = pl.read_csv(data_dir() / "geography" / "lsoa.csv", infer_schema=False).select(
        "lsoa_code", "neighbourhood_code"
    )
    vict = (
        victims.select("crime_id", "person_id")
        .join(
            crimes.select("crime_id", "recorded_date", "weight", "domestic_abuse", "lsoa_code"),
            on="crime_id",
        )
        .with_columns(pl.col("lsoa_code").str.strip_chars().str.to_uppercase())
        .join(lsoa, on="lsoa_code", how="left")
    )
    listed = pl.read_parquet(run.file("victim_list"))
    months = run.manifest.months
    for month in (months[0], months[len(months) // 2], months[-1]):
        y, m = map(int, month.split("-"))
        end_date = date.fromordinal(date(y + m // 12, m % 12 + 1, 1).toordinal() - 1)
        start = date(y - 1 + m // 12, m % 12 + 1, 1)  # the 12 months ending with M
        window = vict.filter(pl.col("recorded_date").is_between(start, end_date))
        latest_place = (
            window.filter(pl.col("neighbourhood_code").is_not_null())
            .sort(["recorded_date", "crime_id"])
            .group_by("person_id")
            .agg(pl.col("neighbourhood_code").last().alias("place"))
        )
        totals = (
            window.group_by("person_id")
            .agg(
                pl.col("weight").sum().alias("harm"),
                pl.len().alias("crimes"),
                pl.col("domestic_abuse").sum().alias("da"),
            )
            .join(persons, on="person_id")
            .filter(
                (pl.col("person_type") == "individual")
                & (pl.col("deceased_date").is_null() | (pl.col("deceased_date") > end_date))
                & ((pl.col("harm") >= Decimal(365)) | (pl.col("crimes") >= 3))
            )
            .with_columns(pl.col("home_lsoa_code").str.strip_chars().str.to_uppercase())
            .join(
                lsoa.rename({"lsoa_code": "home_lsoa_code", "neighbourhood_code": "home"}),
                on="home_lsoa_code",
                how="left",
            )
            .join(latest_place, on="person_id", how="left")
            .select(
                "person_id",
                pl.col("harm").cast(pl.Decimal(18, 2)),
                pl.col("crimes").cast(pl.Int64),
                pl.col("da").cast(pl.Int64),
                pl.coalesce("home", "place", pl.lit("unknown")).alias("neighbourhood_code"),
            )
            .sort("person_id")
        )
        ours = (
            listed.filter(pl.col("month") == month)
            .select(
                "person_id",
                pl.col("harm_days").alias("harm"),
                pl.col("crimes").cast(pl.Int64),
                pl.col("da_crimes").cast(pl.Int64).alias("da"),
                "neighbourhood_code",
            )
            .sort("person_id")
        )
        assert totals.height > 100, month
        assert ours.equals(totals), (month, ours.join(totals, on="person_id", how="full"))
