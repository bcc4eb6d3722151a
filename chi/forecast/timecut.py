"""The time cut: what a list month may know, and what happens after it.

A forecast is only honest if every feature of list month M is computed from events recorded
on or before the last day of M. Rather than trusting each feature to filter its own input,
every event stream passes through ``time_cut`` once and feature code only ever sees its
output, so an event after the cut cannot reach a feature. Labels and backtest outcomes come
from the one other door, ``after_cut``: events in ``(end of M, end of M + h]``. The two never
overlap, and ``tests/test_backtest_timecut.py`` holds both to it.

Months are calendar months of ``recorded_date`` (contract §3), indexed as
``year * 12 + month - 1`` so that window arithmetic is integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from chi.months import add_months, month_end, month_label

DATE_COLUMN = "recorded_date"


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def index_month(i: int) -> date:
    return date(i // 12, i % 12 + 1, 1)


def cuts_frame(months: Iterable[date]) -> pl.DataFrame:
    """One row per list month: ``cut_month`` (YYYY-MM), ``cut_mi`` and ``cut_end``."""
    firsts = sorted({date(m.year, m.month, 1) for m in months})
    return pl.DataFrame(
        {
            "cut_month": [month_label(m) for m in firsts],
            "cut_mi": [month_index(m) for m in firsts],
            "cut_end": [month_end(m) for m in firsts],
        },
        schema={"cut_month": pl.String, "cut_mi": pl.Int32, "cut_end": pl.Date},
    )


def time_cut(events: pl.LazyFrame, cuts: pl.DataFrame, lookback_months: int) -> pl.LazyFrame:
    """Each event once for every list month that may see it.

    An event is visible to list month M when it was recorded on or before the last day of M
    and within the ``lookback_months`` calendar months ending with M. The result carries the
    cut's columns and ``age_months`` (0 = recorded in M itself, 1 = the month before, ...).
    """
    if lookback_months < 1:
        raise ValueError("lookback_months must be at least 1")
    bounds = cuts.lazy().with_columns(
        _from=pl.date(
            (pl.col("cut_mi") - lookback_months + 1) // 12,
            (pl.col("cut_mi") - lookback_months + 1) % 12 + 1,
            1,
        )
    )
    return (
        events.join_where(
            bounds,
            pl.col(DATE_COLUMN) <= pl.col("cut_end"),
            pl.col(DATE_COLUMN) >= pl.col("_from"),
        )
        .drop("_from")
        .with_columns(
            age_months=(
                pl.col("cut_mi")
                - (pl.col(DATE_COLUMN).dt.year() * 12 + pl.col(DATE_COLUMN).dt.month() - 1)
            ).cast(pl.Int32)
        )
    )


def after_cut(events: pl.LazyFrame, cuts: pl.DataFrame, horizon_months: int) -> pl.LazyFrame:
    """Each event once for every list month whose horizon it falls in: recorded after the
    last day of M and on or before the last day of M + ``horizon_months``."""
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    bounds = cuts.with_columns(
        _to=pl.Series(
            [month_end(add_months(index_month(i), horizon_months)) for i in cuts["cut_mi"]],
            dtype=pl.Date,
        )
    ).lazy()
    return events.join_where(
        bounds,
        pl.col(DATE_COLUMN) > pl.col("cut_end"),
        pl.col(DATE_COLUMN) <= pl.col("_to"),
    ).drop("_to")
