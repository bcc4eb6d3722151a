"""Prediction runs on every core the process may use, and gives the same scores, to the bit,
as on one thread (fits stay on one thread: see chi.forecast.model)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from chi.forecast import model as forecast
from chi.forecast.model import cores, fit, importance, predict, prediction_threads


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4_000, 6))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values, as the features have
    logit = 0.8 * np.nan_to_num(x[:, 0]) - 0.5 * np.nan_to_num(x[:, 1]) + 0.3
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


def test_prediction_threads_use_every_core(data: tuple[np.ndarray, np.ndarray]) -> None:
    # scikit-learn is imported when a model is made, and its OpenMP runtime with it: make one
    # here, not rely on a test before this one in the same process having done so
    fit("gbm", *data, seed=0)
    with prediction_threads():
        openmp = [p for p in threadpool_info() if p["user_api"] == "openmp"]
    assert openmp, "scikit-learn's OpenMP runtime is loaded"
    assert all(p["num_threads"] == cores() for p in openmp)


@pytest.mark.parametrize("kind", ["gbm", "logistic"])
def test_scores_are_the_same_on_one_thread_and_on_every_core(
    kind: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = data
    pipe = fit(kind, x, y, seed=0)
    on_all = predict(pipe, x)
    with threadpool_limits(limits=1, user_api="openmp"):
        on_one = np.asarray(pipe.predict_proba(x)[:, 1], dtype=np.float64)
    assert np.array_equal(on_all, on_one)
    assert 0.0 < on_all.min() < on_all.max() < 1.0  # real scores, not a constant


def test_permutation_importance_is_the_same_on_one_thread(
    data: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = data
    pipe = fit("gbm", x, y, seed=0)
    features = [f"f{i}" for i in range(x.shape[1])]
    on_all = importance(pipe, x, y, features, seed=0)
    monkeypatch.setattr(forecast, "cores", lambda: 1)
    with prediction_threads():
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "openmp")
    on_one = importance(pipe, x, y, features, seed=0)
    assert on_all == on_one
    assert on_all[0]["feature"] == "f0"  # the strongest feature comes first
