"""The analyses' age band (``sql/analysis/age_band_macro.sql``): whole years by the lists'
``age_years`` rule, cut at the bands of ``chi.analysis.source.AGE_BANDS``."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from chi import sql
from chi.analysis.source import AGE_BANDS


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    sql.create_macros(c)
    sql.run(c, "analysis/age_band_macro")
    return c


def _band(con: duckdb.DuckDBPyConnection, birth: date | None, on: date) -> str:
    rows = (
        con.cursor()
        .sql("select age_band($birth::date, $on::date)", params={"birth": birth, "on": on})
        .fetchall()
    )
    band: str = rows[0][0]
    return band


@pytest.mark.parametrize(
    ("birth", "on", "band"),
    [
        (date(2000, 6, 30), date(2018, 6, 29), "under 18"),  # 17 the day before
        (date(2000, 6, 30), date(2018, 6, 30), "18-24"),  # 18 on the birthday
        (date(2000, 6, 30), date(2025, 6, 29), "18-24"),  # 24
        (date(2000, 6, 30), date(2025, 6, 30), "25-34"),
        (date(1980, 1, 1), date(2024, 12, 31), "35-44"),  # 44
        (date(1980, 1, 1), date(2025, 1, 1), "45-54"),  # 45
        (date(1970, 3, 1), date(2025, 2, 28), "45-54"),  # 54
        (date(1970, 3, 1), date(2025, 3, 1), "55-64"),  # 55
        (date(1960, 2, 29), date(2025, 2, 28), "55-64"),  # 64: a leap-day birth, 1 March
        (date(1960, 2, 29), date(2025, 3, 1), "65 and over"),  # 65
        (date(1930, 5, 5), date(2024, 5, 5), "65 and over"),  # 94
        (None, date(2024, 5, 5), "unknown"),
    ],
)
def test_the_age_band_at_each_boundary(
    con: duckdb.DuckDBPyConnection, birth: date | None, on: date, band: str
) -> None:
    assert _band(con, birth, on) == band


def test_the_macro_gives_exactly_the_bands_the_module_names(
    con: duckdb.DuckDBPyConnection,
) -> None:
    on = date(2024, 6, 30)
    ages = range(0, 101)
    births = [date(on.year - a, on.month, on.day) for a in ages]
    seen = [_band(con, b, on) for b in births] + [_band(con, None, on)]
    assert list(dict.fromkeys(seen)) == list(AGE_BANDS)
