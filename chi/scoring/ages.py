"""Whole years of age, for frames: the lists' rule (``sql/staging/age_macro.sql``) in polars.

The lists compute age in SQL by the ``age_years`` macro; the analyses and the forecast
build their frames in polars and use :func:`age_years` here, which is the same rule (a
birthday not yet reached that year does not count; born on 29 February, a year older on
1 March in other years; null when either date is null). ``tests/test_ages.py`` checks the
two give the same age for every pair of dates it generates, and that no other module
computes an age.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def age_years(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Whole years lived on ``on`` by a person born on ``birth`` (Int32, null if either is)."""

    def month_day(d: pl.Expr) -> pl.Expr:
        return d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)

    before_birthday = (month_day(on) < month_day(birth)).cast(pl.Int32)
    return (on.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - before_birthday).cast(
        pl.Int32
    )


def age_band(
    birth: pl.Expr, on: pl.Expr, bounds: Sequence[int], bands: Sequence[str], unknown: str
) -> pl.Expr:
    """The band of ``age_years(birth, on)``: ``bands[i]`` below ``bounds[i]``, the last band
    from the last bound up, ``unknown`` without a date of birth (len(bands) = len(bounds) + 1)."""
    if len(bands) != len(bounds) + 1:
        raise ValueError("one band more than bounds")
    age = age_years(birth, on)
    expr: pl.Expr = pl.lit(bands[-1])
    for bound, band in reversed(list(zip(bounds, bands, strict=False))):
        expr = pl.when(age < bound).then(pl.lit(band)).otherwise(expr)
    return pl.when(age.is_null()).then(pl.lit(unknown)).otherwise(expr)
