"""The forecast models: saving and refusing to load, explanations, sampling, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from chi.forecast.model import (
    META_FILE,
    MODEL_FILE,
    FittedModel,
    ModelError,
    at_k,
    leakage_check,
    load_model,
    sample_training,
    save_model,
    train_model,
)

FEATURES = ["harm_12m", "n_12m", "age"]


def _frame(n: int = 2000, seed: int = 1) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    harm = rng.exponential(20, n)
    count = rng.poisson(1, n).astype(float)
    age = rng.uniform(16, 90, n)
    age[::50] = np.nan
    risk = 1 / (1 + np.exp(-(harm / 20 - 2)))
    y = (rng.uniform(size=n) < risk).astype(np.int64)
    return pl.DataFrame({"harm_12m": harm, "n_12m": count, "age": age}), y


@pytest.fixture(scope="module")
def model() -> FittedModel:
    frame, y = _frame()
    return train_model(frame, FEATURES, "victimisation", y, 12, "gbm", seed=0)


def test_save_and_load_give_the_same_predictions(model: FittedModel, tmp_path: Path) -> None:
    frame, _ = _frame(300, seed=2)
    save_model(model, tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["features"] == FEATURES
    assert meta["versions"]["scikit-learn"]
    assert len(meta["sha256"]) == 64
    again = load_model(tmp_path)
    assert np.array_equal(again.predict(frame), model.predict(frame))
    assert again.medians == model.medians


def test_an_altered_model_file_is_refused(model: FittedModel, tmp_path: Path) -> None:
    save_model(model, tmp_path)
    with (tmp_path / MODEL_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="checksum"):
        load_model(tmp_path)


def test_another_scikit_learn_version_is_refused(model: FittedModel, tmp_path: Path) -> None:
    save_model(model, tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2.*refit"):
        load_model(tmp_path)


def test_a_missing_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="chi backtest"):
        load_model(tmp_path)


def test_explanations_name_what_pushed_the_score_up(model: FittedModel) -> None:
    typical = dict(zip(FEATURES, model.medians, strict=True))
    frame = pl.DataFrame([{**typical, "harm_12m": 400.0}, typical])
    reasons = model.explain(frame)
    assert reasons[0] and reasons[0][0].startswith("harm in the last 12 months: 400 days (+")
    assert len(reasons[0]) <= 3
    assert reasons[1] == []  # everything typical: nothing pushed the score up


def test_weighted_sampling_keeps_positives_and_the_balance() -> None:
    y = np.zeros(10_000, dtype=np.int64)
    y[:100] = 1
    idx, w = sample_training(y, 1000, seed=0)
    assert len(idx) == 1000 and y[idx].sum() == 100
    # Weighted, the sample has the population's 1% positives.
    assert (w * y[idx]).sum() / w.sum() == pytest.approx(0.01)
    idx2, w2 = sample_training(y, 20_000, seed=0)
    assert len(idx2) == 10_000 and (w2 == 1).all()


def test_precision_and_recall_at_k_by_month() -> None:
    months = np.array([1, 1, 1, 2, 2, 2])
    y = np.array([1, 0, 1, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.5])
    # Top 1 each month: month 1 -> y=1, month 2 -> y=0: precision 1/2, recall 1/3.
    # Top 2: month 1 -> 1+0, month 2 -> 0+0: precision 1/4, recall 1/3.
    out = at_k(months, y, score, [1, 2])
    assert out["1"]["precision"] == pytest.approx(0.5)
    assert out["1"]["recall"] == pytest.approx(1 / 3)
    assert out["2"]["precision"] == pytest.approx(0.25)


def test_leakage_check_flags_a_feature_copied_from_the_label() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    x = np.column_stack([rng.normal(size=5000), y + rng.normal(scale=0.05, size=5000)])
    flags = leakage_check(x, y, ["honest", "leak"])
    assert [f["feature"] for f in flags] == ["leak"]
    assert flags[0]["auc"] > 0.99


def test_a_label_the_chi_harm_ranking_won_says_so(tmp_path: Path) -> None:
    from chi.forecast.saved import _refuse_unchosen

    reason = "CHI-harm ranking had the highest validation AUC, 0.700"
    body = {"model": {"labels": {"victimisation": {"chosen": "chi_harm", "reason": reason}}}}
    (tmp_path / "backtest.json").write_text(json.dumps(body))
    with pytest.raises(ModelError, match="did not beat the CHI-harm ranking out of time"):
        _refuse_unchosen(tmp_path, "victimisation")
    _refuse_unchosen(tmp_path, "harm")  # no verdict about harm: the usual checks apply
    (tmp_path / "victimisation").mkdir()
    _refuse_unchosen(tmp_path, "victimisation")  # a saved model is loaded as usual
