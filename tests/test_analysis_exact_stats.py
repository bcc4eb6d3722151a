"""The profile's tests without scipy.stats (whose import costs most of a second): the
Poisson probabilities and the t quantile are scipy's own formulas, equal to the bit; the
sign test is exact in integers, equal to scipy.stats.binomtest to 1e-12 relative."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from chi.analysis.board import _poisson_pmf, poisson_two_sided
from chi.analysis.escalation import _t_interval, sign_test, sign_test_p


@pytest.mark.parametrize("mu", [0.3, 1.0, 7.25, 10.0, 921.2, 4000.5])
def test_poisson_probabilities_are_scipys_to_the_bit(mu: float) -> None:
    k = np.arange(0, int(mu + 40 * np.sqrt(mu) + 50))
    assert np.array_equal(_poisson_pmf(k, mu), stats.poisson.pmf(k, mu))


def test_the_poisson_test_is_the_one_computed_with_scipy() -> None:
    for x, mu in [(17, 10.0), (860, 921.2), (0, 2.5), (3, 3.0), (120, 80.4)]:
        k = np.arange(0, int(max(x, mu) + 40 * np.sqrt(mu) + 50) + 1)
        pmf = stats.poisson.pmf(k, mu)
        px = float(stats.poisson.pmf(x, mu))
        want = float(min(1.0, pmf[pmf <= px * (1 + 1e-7)].sum()))
        assert poisson_two_sided(x, mu) == want


def test_the_t_interval_uses_scipys_quantile_to_the_bit() -> None:
    rng = np.random.default_rng(2)
    for n in (2, 3, 7, 30, 200):
        values = rng.normal(size=n)
        low, high = _t_interval(values)
        sem = float(values.std(ddof=1)) / np.sqrt(n)
        half = float(stats.t.ppf(0.975, n - 1)) * sem
        assert (low, high) == (float(values.mean()) - half, float(values.mean()) + half)


def test_the_sign_test_by_hand() -> None:
    assert sign_test_p(0, 5) == 2 / 32
    assert sign_test_p(1, 10) == 2 * (1 + 10) / 1024
    assert sign_test_p(9, 10) == 2 * (1 + 10) / 1024
    assert sign_test_p(5, 10) == 1.0
    assert sign_test_p(3, 5) == 1.0  # twice the smaller tail, 2 * 16/32, capped at 1
    assert sign_test(9, 1, 4).verdict == "rises"  # p = 22/1024 = 0.021, ties set aside
    assert sign_test(8, 2, 0).verdict == "no clear change"  # p = 2 * 56/1024 = 0.109
    assert sign_test(10, 0, 0).verdict == "rises"  # 2/1024
    assert sign_test(0, 10, 0).verdict == "falls"


def test_the_sign_test_agrees_with_scipy() -> None:
    for n in range(1, 70):
        for k in range(n + 1):
            want = stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue
            assert sign_test_p(k, n) == pytest.approx(want, rel=1e-12, abs=0)
    for k, n in [(4_000, 9_000), (12_345, 24_000)]:  # large counts stay exact and quick
        want = stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue
        assert sign_test_p(k, n) == pytest.approx(want, rel=1e-9, abs=1e-300)
