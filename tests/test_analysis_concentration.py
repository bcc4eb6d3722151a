"""Harm concentration on hand-worked fixtures: Gini, generalised Gini, shares, curves."""

from __future__ import annotations

import itertools

import pytest

from chi.analysis.concentration import (
    concentration,
    generalised_gini,
    gini,
    lorenz_curve,
    power_curve,
    share_holding,
    top_share,
)


def test_gini_of_ten_eight_two_and_seven_zeros() -> None:
    # ascending 0x7, 2, 8, 10: sum i*x = 8*2 + 9*8 + 10*10 = 188; 2*188/(10*20) - 11/10 = 0.78
    assert gini([10, 8, 2, *[0] * 7]) == pytest.approx(0.78)


def test_gini_and_generalised_gini_of_sparse_counts() -> None:
    # ascending 0x7, 1, 2, 5: sum i*x = 8 + 18 + 50 = 76; 2*76/(10*8) - 1.1 = 0.80
    counts = [5, 2, 1, *[0] * 7]
    assert gini(counts) == pytest.approx(0.80)
    # N = 8 events over n = 10 units: G' = 1 - (1 - 0.8) * 10 / 8 = 0.75
    assert generalised_gini(counts) == pytest.approx(0.75)


def test_generalised_gini_equals_gini_when_events_outnumber_units() -> None:
    counts = [10, 8, 2, *[0] * 7]
    assert generalised_gini(counts) == pytest.approx(gini(counts))


def test_gini_bounds_and_empty() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 7]) == pytest.approx(0.75)  # one of four holds all: 1 - 1/n
    assert gini([]) is None
    assert gini([0, 0]) is None
    with pytest.raises(ValueError):
        gini([1, -1])


def test_one_murder_among_a_hundred_victims() -> None:
    # 5,475 days (murder) and 99 victims of a 1-day crime: the top 1% (one person) holds
    # 5475 / 5574 = 98.2% of the harm.
    harm = [5475.0, *[1.0] * 99]
    assert top_share(harm, 0.01) == pytest.approx(5475 / 5574)
    assert round(100 * top_share(harm, 0.01), 1) == 98.2
    share, k = share_holding(harm, 0.85)
    assert (share, k) == (0.01, 1)
    share90, k90 = share_holding(harm, 0.99)  # 5475 + 81 = 5556 >= 0.99 * 5574 = 5518.3
    assert k90 == 1 + 44 and share90 == pytest.approx(0.45)


def test_curves_run_from_nothing_to_everything() -> None:
    harm = [5475.0, *[1.0] * 99]
    px, py = power_curve(harm)
    assert (px[0], py[0], px[-1], py[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert py[px.index(0.01)] == pytest.approx(5475 / 5574, abs=1e-6)
    lx, ly = lorenz_curve(harm)
    assert (lx[0], ly[0], lx[-1], ly[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert ly[lx.index(0.99)] == pytest.approx(99 / 5574, abs=1e-6)
    assert all(b >= a for a, b in itertools.pairwise(py))


def test_concentration_record_for_harm_and_counts() -> None:
    c = concentration("victims", "count", [5, 2, 1, *[0] * 7])
    assert c.units == 10 and c.events == 8 and c.total == 8
    assert c.gini == pytest.approx(0.8) and c.generalised_gini == pytest.approx(0.75)
    assert c.holding["50"] == pytest.approx(0.1) and c.holding_units["85"] == 2
    assert c.top["1"] == pytest.approx(5 / 8)
    empty = concentration("victims", "harm", [])
    assert empty.gini is None and empty.holding == {}
