"""The age rule for frames (``chi.scoring.ages``) is the lists' SQL macro (``age_years``,
``sql/staging/age_macro.sql``): the same whole years for every pair of dates, and the
analyses' bands cut at the ages ``chi.analysis.source.AGE_BANDS`` name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chi import sql
from chi.analysis.source import AGE_BANDS, AGE_BOUNDS
from chi.scoring.ages import age_band, age_years

ROOT = Path(__file__).resolve().parents[1]

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2040, 12, 31))
LEAP_DAYS = st.sampled_from([date(y, 2, 29) for y in (1904, 1960, 1988, 2000, 2012, 2024)])


def _macro(pairs: list[tuple[date | None, date | None]]) -> list[int | None]:
    con = duckdb.connect()
    sql.create_macros(con)
    con.register(
        "pairs", pl.DataFrame(pairs, schema={"birth": pl.Date, "day": pl.Date}, orient="row")
    )
    got = con.sql("select age_years(birth, day) as age from pairs").pl()
    return list(got["age"])


def _frames(pairs: list[tuple[date | None, date | None]]) -> list[int | None]:
    frame = pl.DataFrame(pairs, schema={"birth": pl.Date, "day": pl.Date}, orient="row")
    out = frame.select(age=age_years(pl.col("birth"), pl.col("day")))
    assert out.schema["age"] == pl.Int32
    return list(out["age"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(DATES, LEAP_DAYS, st.none()), st.one_of(DATES, st.none())),
        min_size=1,
        max_size=200,
    )
)
def test_the_frame_rule_is_the_macro_for_any_dates(
    pairs: list[tuple[date | None, date | None]],
) -> None:
    assert _frames(pairs) == _macro(pairs)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 6, 30), date(2024, 6, 29), 23),  # the day before the birthday
        (date(2000, 6, 30), date(2024, 6, 30), 24),
        (date(2000, 2, 29), date(2023, 2, 28), 22),  # a leap-day birth: older on 1 March
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2010, 12, 31), date(2010, 12, 31), 0),
        (date(2011, 1, 1), date(2010, 12, 31), -1),  # recorded before birth: as the macro
        (None, date(2024, 1, 1), None),
    ],
)
def test_hand_computed_ages(birth: date | None, on: date, age: int | None) -> None:
    assert _frames([(birth, on)]) == [age] == _macro([(birth, on)])


def test_the_analyses_bands_at_their_boundaries() -> None:
    on = date(2024, 6, 30)
    births = [date(on.year - a, 7, 1) for a in range(0, 101)] + [None]  # a day short of a
    frame = pl.DataFrame({"birth": births, "on": [on] * len(births)})
    bands = frame.select(
        band=age_band(pl.col("birth"), pl.col("on"), AGE_BOUNDS, AGE_BANDS[:-1], AGE_BANDS[-1])
    )["band"].to_list()
    assert list(dict.fromkeys(bands)) == list(AGE_BANDS)
    ages = [a - 1 for a in range(0, 101)]  # born on 1 July: not yet a years old on 30 June
    expected = {17: "under 18", 18: "18-24", 24: "18-24", 25: "25-34", 64: "55-64"}
    for age, band in expected.items():
        assert bands[ages.index(age)] == band
    assert bands[ages.index(65)] == "65 and over" and bands[-1] == "unknown"


def test_no_module_but_ages_computes_an_age_from_dates() -> None:
    copies = [
        p.name
        for p in sorted((ROOT / "chi").rglob("*.py"))
        if any(s in p.read_text(encoding="utf-8") for s in ("def age_years", "dt.year().cast"))
    ]
    assert copies == ["ages.py"]
