"""Write an extract folder: byte-identical Parquet for the same data, every time.

Crimes and victims are folders partitioned by the year the crime was recorded
(``crimes/year=2023/part-0.parquet``); persons and suspects are single files; the truth
files go under ``truth/``, which readers ignore. Every file is written from a table already
in key order with the contract's physical schema, one row group, fixed compression and no
timestamps, so the bytes depend on the data alone. One crimes file may carry a column as
text on purpose (the ``wrong_type`` defect).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from chi.contract import TABLES, arrow_schema


@dataclass(frozen=True)
class TextColumn:
    """In the crimes file of ``year``, write ``column`` as text; ``bad`` maps crime_id to the
    unparseable text those rows carry instead of their value."""

    year: int
    column: str
    bad: dict[str, str]


def _text(values: pl.Series) -> pl.Series:
    if values.dtype == pl.Boolean:
        return values.cast(pl.String).str.to_lowercase()
    return values.cast(pl.String)


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table.combine_chunks(),
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=max(1, table.num_rows),
        write_statistics=True,
        use_dictionary=True,
    )


def contract_table(frame: pl.DataFrame, name: str, text: str | None = None) -> pa.Table:
    """The frame with the contract's physical schema (``text``: a column written as text)."""
    fields = [
        pa.field(f.name, pa.string(), nullable=True) if f.name == text else f
        for f in arrow_schema(TABLES[name])
    ]
    arrays = [frame[f.name].to_arrow().cast(f.type) for f in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_partitioned(
    folder: Path, name: str, frame: pl.DataFrame, text: TextColumn | None = None
) -> dict[str, int]:
    rows: dict[str, int] = {}
    for year in sorted(frame["_year"].unique().to_list()):
        part = frame.filter(pl.col("_year") == year).drop("_year")
        column = None
        if text is not None and text.year == year and name == "crimes":
            bad = pl.Series([text.bad.get(c) for c in part["crime_id"].to_list()], dtype=pl.String)
            part = part.with_columns(pl.coalesce(bad, _text(part[text.column])).alias(text.column))
            column = text.column
        path = folder / name / f"year={year}" / "part-0.parquet"
        write_parquet(contract_table(part, name, column), path)
        rows[path.relative_to(folder).as_posix()] = part.height
    return rows


def prepare_folder(out: Path) -> None:
    """An empty place for the extract: a previous extract's entries there are removed (both
    forms of every table, the truth folder and extract.json), nothing else is touched."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in (*TABLES, "truth"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        if (out / f"{name}.parquet").is_file():
            (out / f"{name}.parquet").unlink()
    if (out / "extract.json").is_file():
        (out / "extract.json").unlink()
