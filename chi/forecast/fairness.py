"""The fairness audit: is any group listed, or missed, out of proportion?

For each policy and list size, over the evaluated months (pooled person-months), and for
each group of sex, age band, ethnicity and area:

- **listing rate**: listed / pool;
- **precision**: of those listed, the share victimised again within the horizon;
- **false-negative rate**: of the pool victimised again within the horizon, the share not
  listed.

A gap is the largest minus the smallest value across groups, flagged above an absolute
threshold (default 0.10). At a small list size every listing rate is small, so the ratio of
the most- to the least-listed group is shown beside it (and flagged above ``ratio``, 1.25:
the "four-fifths" rule read the other way up). Groups whose denominator (pool, listed or
victimised) is below ``min_group`` person-months are shown but not compared (their rates
are noise), nor is ``unknown`` (a recording gap, not a group).

A flag is a prompt to look, not a verdict: groups differ in how often they are harmed. The
backtest puts a reference beside each gap (``chi.forecast.backtest.against_reference``): the
oracle's gap for listing and false-negative rates, and for precision (where the oracle is
always right) the difference in the two groups' rates of being victimised again across the
pool. Groups under ``min_group`` (default 100) person-months are not compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from chi.forecast.features import ATTRIBUTES

MEASURES = {
    "listing_rate": ("listed", "pool"),
    "precision": ("listed_victimised", "listed"),
    "false_negative_rate": ("missed", "victimised"),
}
COUNT_SCHEMA = {
    "attribute": pl.String,
    "group": pl.String,
    "pool": pl.Int64,
    "listed": pl.Int64,
    "victimised": pl.Int64,
    "listed_victimised": pl.Int64,
}


@dataclass(frozen=True)
class FairnessOptions:
    gap: float = 0.10
    ratio: float = 1.25
    min_group: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.gap < 1:
            raise ValueError("the fairness gap threshold must be between 0 and 1")
        if self.ratio <= 1:
            raise ValueError("the listing-rate ratio threshold must be above 1")
        if self.min_group < 1:
            raise ValueError("the minimum group size must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts(frame: pl.DataFrame, a: str, prefix: str) -> pl.DataFrame:
    return frame.group_by(pl.col(a).fill_null("unknown").alias("group")).agg(
        pl.len().alias(prefix), pl.col("victimised").sum().alias(f"{prefix}_victimised")
    )


def pool_counts(
    pool: pl.DataFrame, attributes: tuple[str, ...] = ATTRIBUTES
) -> dict[str, pl.DataFrame]:
    """Per attribute, the pool's person-months and victimised per group: the part of
    ``group_counts`` that is the same for every policy and list size."""
    return {a: _counts(pool, a, "pool") for a in attributes}


def group_counts(
    pool: pl.DataFrame,
    listed: pl.DataFrame,
    attributes: tuple[str, ...] = ATTRIBUTES,
    pooled: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Per attribute and group: pool, listed, victimised and listed-and-victimised counts.
    ``pool`` holds every person-month (boolean ``victimised`` and the attribute columns);
    ``listed`` the rows of it that were listed; ``pooled``: ``pool_counts(pool,
    attributes)`` when the caller counts many lists of the same pool."""
    if pooled is None:
        pooled = pool_counts(pool, attributes)
    parts = [
        pooled[a]
        .join(_counts(listed, a, "listed"), on="group", how="left")
        .select(
            pl.lit(a).alias("attribute"),
            "group",
            "pool",
            pl.col("listed").fill_null(0),
            pl.col("pool_victimised").alias("victimised"),
            pl.col("listed_victimised").fill_null(0),
        )
        .cast(COUNT_SCHEMA)  # type: ignore[arg-type]
        for a in attributes
    ]
    if not parts:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    return pl.concat(parts)


def empty_counts(keys: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema={**keys, **COUNT_SCHEMA})


def _rate(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def audit(
    counts: pl.DataFrame, opts: FairnessOptions, keys: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(groups, gaps) from ``group_counts`` output, per ``keys`` (e.g. policy and k)."""
    keys = list(keys or [])
    part = [*keys, "attribute"]
    groups = (
        counts.group_by(*part, "group")
        .agg(pl.col("pool", "listed", "victimised", "listed_victimised").sum())
        .with_columns(missed=pl.col("victimised") - pl.col("listed_victimised"))
        .with_columns(
            listing_rate=_rate("listed", "pool"),
            precision=_rate("listed_victimised", "listed"),
            false_negative_rate=_rate("missed", "victimised"),
        )
        .with_columns(
            listing_ratio=pl.col("listing_rate")
            / (pl.col("listed").sum().over(part) / pl.col("pool").sum().over(part)),
        )
        .sort(*part, "group")
    )
    rows: list[dict[str, Any]] = []
    for key, sub in groups.group_by(part, maintain_order=True):
        base = dict(zip(part, key, strict=True))
        for measure, (_, den) in MEASURES.items():
            eligible = sub.filter(
                (pl.col("group") != "unknown")
                & (pl.col(den) >= opts.min_group)
                & pl.col(measure).is_not_null()
            ).sort(measure, "group")
            row: dict[str, Any] = {
                **base,
                "measure": measure,
                "groups_compared": eligible.height,
                "min_group": None,
                "min": None,
                "max_group": None,
                "max": None,
                "gap": None,
                "ratio": None,
                "flagged": False,
            }
            if eligible.height >= 2:
                lo, hi = eligible.row(0, named=True), eligible.row(-1, named=True)
                row.update(
                    min_group=lo["group"],
                    min=lo[measure],
                    max_group=hi["group"],
                    max=hi[measure],
                    gap=hi[measure] - lo[measure],
                )
                over_gap = row["gap"] > opts.gap
                if measure == "listing_rate":
                    ratio = hi[measure] / lo[measure] if lo[measure] > 0 else None
                    row["ratio"] = ratio
                    over_ratio = (ratio is None and hi[measure] > 0) or (
                        ratio is not None and ratio > opts.ratio
                    )
                    row["flagged"] = over_gap or over_ratio
                else:
                    row["flagged"] = over_gap
            rows.append(row)
    schema = {
        **{k: counts.schema.get(k, pl.String) for k in keys},
        "attribute": pl.String,
        "measure": pl.String,
        "groups_compared": pl.Int64,
        "min_group": pl.String,
        "min": pl.Float64,
        "max_group": pl.String,
        "max": pl.Float64,
        "gap": pl.Float64,
        "ratio": pl.Float64,
        "flagged": pl.Boolean,
    }
    gaps = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return groups, gaps
