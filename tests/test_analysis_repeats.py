"""Repeats: a hand-worked Kaplan-Meier curve with censoring, hazards, P(k+1 | k), follow-up."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from chi.analysis.repeats import (
    hazard_by_band,
    kaplan_meier,
    next_event_days,
    next_given_k,
    repeat_rate,
    repeats,
    survival_points,
    time_to_next,
)


def test_kaplan_meier_by_hand() -> None:
    # Eight people followed up; o = next victimisation seen, c = censored at as-of.
    #   days: 2o 3o 3c 5o 6c 8o 8o 10c
    # t=2:  8 at risk, 1 event   S = 7/8                 = 0.875
    # t=3:  7 at risk, 1 event   S = 0.875 * 6/7         = 0.75  (the one censored at 3 is
    #                                                           still at risk at 3)
    # t=5:  5 at risk, 1 event   S = 0.75 * 4/5          = 0.6
    # t=6:  4 at risk, censored  S = 0.6
    # t=8:  3 at risk, 2 events  S = 0.6 * 1/3           = 0.2
    # t=10: 1 at risk, censored  S = 0.2
    # Greenwood at t=3: 1/(8*7) + 1/(7*6) = 0.041667; lower = 0.75 * exp(-1.96 * 0.204124)
    km = kaplan_meier([2, 3, 3, 5, 6, 8, 8, 10], [1, 1, 0, 1, 0, 1, 1, 0])
    assert km.time == [2, 3, 5, 6, 8, 10]
    assert km.at_risk == [8, 7, 5, 4, 3, 1]
    assert km.events == [1, 1, 1, 0, 2, 0]
    assert km.censored == [0, 1, 0, 1, 0, 1]
    assert km.survival == pytest.approx([0.875, 0.75, 0.6, 0.6, 0.2, 0.2])
    assert km.lower[1] == pytest.approx(0.75 * math.exp(-1.959964 * math.sqrt(1 / 56 + 1 / 42)))
    assert km.upper[1] == 1.0
    assert km.at(0) == 1.0
    assert km.at(4) == pytest.approx(0.75)
    assert km.at(9) == pytest.approx(0.2)
    assert km.at(11) is None  # nobody was followed up for 11 days
    points = survival_points(km, horizon=9)
    assert [p["days"] for p in points] == [0.0, 2.0, 3.0, 5.0, 8.0, 9.0]
    assert [p["survival"] for p in points] == pytest.approx([1, 0.875, 0.75, 0.6, 0.2, 0.2])


def test_kaplan_meier_with_no_events_and_no_units() -> None:
    km = kaplan_meier([5, 7], [0, 0])
    assert km.survival == [1.0, 1.0] and km.at(7) == 1.0
    empty = kaplan_meier([], [])
    assert empty.units == 0 and empty.at(1) is None


def test_hazard_counts_exposure_day_by_day() -> None:
    # A next crime after 10 days, another after 40, and one censored after 200 days.
    bands = hazard_by_band([10, 40, 200], [True, True, False])
    first, second, third, fourth, fifth = bands
    assert (first.events, first.unit_days) == (1, 10 + 30 + 30)
    assert first.per_1000_days == pytest.approx(1000 / 70)
    assert (second.events, second.unit_days) == (1, 10 + 60)
    assert (third.events, third.unit_days) == (0, 90)
    assert (fourth.events, fourth.unit_days) == (0, 20)
    assert fifth.unit_days == 0 and fifth.per_1000_days is None


def test_next_given_k() -> None:
    steps = next_given_k([1, 1, 1, 1, 2, 2, 3, 5])
    assert [(s.k, s.units_k, s.units_next) for s in steps] == [
        (1, 8, 4),
        (2, 4, 2),
        (3, 2, 1),
        (4, 1, 1),
        (5, 1, 0),
    ]
    assert steps[0].probability == 0.5 and steps[-1].probability == 0.0


def _events(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(u, date.fromisoformat(d), c, h) for u, d, c, h in rows],
        schema={
            "unit": pl.String,
            "recorded_date": pl.Date,
            "crime_id": pl.String,
            "harm": pl.Float64,
        },
        orient="row",
    )


def test_follow_up_skips_same_day_crimes_and_censors_at_as_of() -> None:
    events = _events(
        [
            ("A", "2024-01-01", "C1", 10.0),
            ("A", "2024-01-01", "C2", 1.0),  # the same incident: not a repeat after 0 days
            ("A", "2024-01-11", "C3", 10.0),
            ("B", "2024-02-01", "C4", 5.0),
            ("C", "2023-12-20", "C5", 1.0),  # before the period: ends no follow-up
            ("C", "2024-01-05", "C6", 1.0),
        ]
    )
    jan = time_to_next(events, date(2024, 1, 1), date(2024, 1, 31), date(2024, 3, 1))
    assert jan.to_dicts() == [
        {"unit": "A", "index_date": date(2024, 1, 1), "days": 10, "observed": True},
        {"unit": "C", "index_date": date(2024, 1, 5), "days": 56, "observed": False},
    ]
    two = time_to_next(events, date(2024, 1, 1), date(2024, 2, 29), date(2024, 3, 1))
    assert two.filter(pl.col("unit") == "B").row(0, named=True)["days"] == 29
    every = time_to_next(
        events, date(2024, 1, 1), date(2024, 1, 31), date(2024, 3, 1), first_only=False
    )
    assert every["days"].to_list() == [10, 50, 56]


def test_next_event_days_stop_at_each_unit_and_skip_days_before_the_period() -> None:
    events = _events(
        [
            ("A", "2023-12-30", "C0", 1.0),  # before the period: not read
            ("A", "2024-01-02", "C1", 1.0),
            ("A", "2024-01-02", "C2", 1.0),  # same day: one event day
            ("A", "2024-01-09", "C3", 1.0),
            ("B", "2024-01-03", "C4", 1.0),  # B's last day: no next day, not A's or C's
            ("C", "2024-01-01", "C5", 1.0),
            ("C", "2024-04-01", "C6", 1.0),  # after as-of: not read
        ]
    )
    days = next_event_days(events, date(2024, 1, 1), date(2024, 3, 1))
    assert days.rows() == [
        ("A", date(2024, 1, 2), date(2024, 1, 9)),
        ("A", date(2024, 1, 9), None),
        ("B", date(2024, 1, 3), None),
        ("C", date(2024, 1, 1), None),
    ]
    # given or not, the same follow-ups
    for first_only in (True, False):
        given = time_to_next(
            events, date(2024, 1, 1), date(2024, 1, 31), date(2024, 3, 1), first_only, None, days
        )
        assert given.equals(
            time_to_next(events, date(2024, 1, 1), date(2024, 1, 31), date(2024, 3, 1), first_only)
        )
    assert given["days"].to_list() == [7, 52, 58, 60]


def test_repeat_rate_and_repeat_summary() -> None:
    per_unit = pl.DataFrame({"events": [1, 1, 3, 2], "harm": [1.0, 1.0, 60.0, 18.0]})
    rate = repeat_rate(per_unit)
    assert (rate.units, rate.repeat_units, rate.events, rate.repeat_events) == (4, 2, 7, 3)
    assert rate.repeat_unit_share == 0.5
    assert rate.repeat_event_share == pytest.approx(3 / 7)
    assert rate.repeat_harm_share == pytest.approx(78 / 80)
    events = _events(
        [
            ("A", "2024-01-01", "C1", 10.0),
            ("A", "2024-01-11", "C3", 10.0),
            ("B", "2024-01-20", "C4", 5.0),
        ]
    )
    r = repeats("victims", events, date(2024, 1, 1), date(2024, 1, 31), date(2024, 12, 31))
    assert r.rate.repeat_units == 1 and r.survival.units == 2
    assert r.survival.at(10) == pytest.approx(0.5)
    assert r.no_repeat_12m is None  # the longest follow-up is 365 days from 1 January...
    assert r.survival.max_follow_up == 346  # ...but A's ends at its repeat and B's at as-of
