"""The forecast models: fit, measure, explain, keep and reload them safely.

Two scikit-learn pipelines learn the same label from the same features: a gradient-boosted
model (``HistGradientBoostingClassifier``, which takes missing values as they are) and a
logistic-regression baseline (median imputation with missing-value indicators, a signed
log transform for the long-tailed counts and harms, scaling). A forecast earns its place on
a list only if it beats the baseline and, in ``chi.forecast.backtest``, the simple rankings.

Labels, for list month M and horizon H months: ``victimisation`` = at least one counted
victimisation in (end of M, end of M + H]; ``harm`` = harm in that horizon at or above a
threshold in days. Over ``max_rows`` training rows, each class is sampled (fixed seed) and
weighted back to its share of the population, which keeps the rare positives whole and the
probabilities calibrated. Fits run on one thread: reproducible, and on a busy two-core
server many times quicker than threads fighting other work. Predictions (scores,
explanations, permutation importance) run on every core the process may use
(:func:`prediction_threads`): each row's prediction is computed on its own, so the
scores are the same to the bit on any number of threads.

Explanations are honest and cheap: for one person, each feature in turn is replaced by its
training median and the fall in predicted probability is that feature's push; the top three
pushes up are the reasons. Globally, ``permutation_importance`` on the test months.

A saved model is ``model.joblib`` with a ``model.json`` sidecar: data range, features,
label, metrics, library versions and the file's sha256. ``load_model`` checks the checksum
and the scikit-learn version *before* unpickling and refuses a mismatch: a pickle is only
safe to load in the version that wrote it, and only if it is the file that was written.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl
from threadpoolctl import threadpool_limits

from chi import __version__
from chi.contract import file_sha256
from chi.forecast.features import FEATURE_LABELS

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn (and joblib) are imported by the functions that fit, measure, save or load a
# model, not with this module: a backtest too short to train a model, or run with
# --no-model, and the model card never load them (about 1.5 s of CPU).

MODEL_FILE = "model.joblib"
META_FILE = "model.json"
FORMAT = "chi-forecast-1"
LEAK_AUC = 0.95
"""A single feature that separates the label this well is almost certainly from the future."""

Array = npt.NDArray[np.float64]


class ModelError(ValueError):
    """A saved model that is missing, altered, or from another library version."""


def _signed_log(x: Array) -> Array:
    out: Array = np.sign(x) * np.log1p(np.abs(x))
    return out


def make_gbm(seed: int = 0) -> Pipeline:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "gbm",
                HistGradientBoostingClassifier(
                    learning_rate=0.1,
                    max_iter=100,
                    max_leaf_nodes=15,
                    min_samples_leaf=50,
                    l2_regularization=1.0,
                    early_stopping=False,
                    random_state=seed,
                ),
            )
        ]
    )


def make_logistic() -> Pipeline:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("log", FunctionTransformer(_signed_log)),
            ("scale", StandardScaler()),
            ("logit", LogisticRegression(C=1.0, max_iter=2000)),
        ]
    )


MODEL_KINDS = {
    "gbm": "gradient-boosted trees",
    "logistic": "logistic regression (baseline)",
    "chi_harm": "CHI-harm ranking (today's list order, no model: the baseline of both)",
}


def matrix(frame: pl.DataFrame, features: list[str]) -> Array:
    """The feature matrix, nulls as NaN."""
    out: Array = frame.select(pl.col(f).cast(pl.Float64) for f in features).to_numpy(
        allow_copy=True
    )
    return np.ascontiguousarray(out, dtype=np.float64)


def sample_rows(n: int, max_rows: int, seed: int) -> npt.NDArray[np.int64]:
    """At most ``max_rows`` of ``n`` rows, uniformly, in their original order."""
    if n <= max_rows:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_rows, replace=False)).astype(np.int64)


def sample_training(
    y: npt.NDArray[np.int_], max_rows: int, seed: int
) -> tuple[npt.NDArray[np.int64], Array]:
    """Rows to train on and their weights. Under ``max_rows`` everything, weight 1. Over it,
    each class is sampled uniformly (positives kept whole up to half the budget) and
    weighted by the inverse of its sampling rate, so the weighted sample has the population's
    class balance and the fitted probabilities stay calibrated."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n, dtype=np.int64), np.ones(n)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    keep_pos = min(len(pos), max_rows // 2)
    keep_neg = min(len(neg), max_rows - keep_pos)
    idx_pos = rng.choice(pos, size=keep_pos, replace=False)
    idx_neg = rng.choice(neg, size=keep_neg, replace=False)
    idx = np.sort(np.concatenate([idx_pos, idx_neg])).astype(np.int64)
    weights = np.where(
        y[idx] == 1, len(pos) / max(keep_pos, 1), len(neg) / max(keep_neg, 1)
    ).astype(np.float64)
    return idx, weights / weights.mean()


def one_thread() -> threadpool_limits:
    """Fit on one OpenMP thread: on a shared two-core server, threads fighting
    other work made a fit ten times slower, and one thread gives the same model every time."""
    return threadpool_limits(limits=1, user_api="openmp")


def cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def prediction_threads() -> threadpool_limits:
    """Predict on every core (OpenMP). Gradient-boosted trees score each row on its own and
    the logistic baseline is one matrix product per row, so threads change the speed, not
    the scores."""
    return threadpool_limits(limits=cores(), user_api="openmp")


def fit(
    kind: str,
    x: Array,
    y: npt.NDArray[np.int_],
    seed: int = 0,
    weights: Array | None = None,
) -> Pipeline:
    if len(np.unique(y)) < 2:
        raise ModelError("the training months hold only one class: nothing to learn from")
    pipe = make_gbm(seed) if kind == "gbm" else make_logistic()
    step = pipe.steps[-1][0]
    with one_thread():
        pipe.fit(x, y, **({f"{step}__sample_weight": weights} if weights is not None else {}))
    return pipe


def predict(pipe: Pipeline, x: Array) -> Array:
    with prediction_threads():
        out: Array = np.asarray(pipe.predict_proba(x)[:, 1], dtype=np.float64)
    return out


def at_k(
    months: npt.NDArray[np.int_], y: npt.NDArray[np.int_], score: Array, ks: list[int]
) -> dict[str, dict[str, float]]:
    """Precision and recall of the top ``k`` by score in each month, pooled over months.
    Ties in score keep the frame's order (person_id)."""
    frame = (
        pl.DataFrame({"m": months, "y": y, "s": score})
        .with_row_index("i")
        .sort(["m", "s", "i"], descending=[False, True, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("m"))
    )
    positives = int(frame["y"].sum())
    out: dict[str, dict[str, float]] = {}
    for k in ks:
        top = frame.filter(pl.col("rank") <= k)
        hits = int(top["y"].sum())
        out[str(k)] = {
            "precision": hits / top.height if top.height else 0.0,
            "recall": hits / positives if positives else 0.0,
            "listed": float(top.height),
        }
    return out


def metrics(
    months: npt.NDArray[np.int_],
    y: npt.NDArray[np.int_],
    score: Array,
    ks: list[int],
    probability: bool = True,
) -> dict[str, Any]:
    """AUC, average precision, Brier score, precision and recall at each list size, and a
    ten-bin (equal-count) calibration curve. A ``score`` that is only an order (not a
    ``probability``) has no Brier score and no calibration."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    both = len(np.unique(y)) == 2
    calibrate = both and probability
    true, pred = (
        calibration_curve(y, score, n_bins=10, strategy="quantile") if calibrate else ([], [])
    )
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()) if len(y) else 0.0,
        "auc": float(roc_auc_score(y, score)) if both else None,
        "average_precision": float(average_precision_score(y, score)) if both else None,
        "brier": float(brier_score_loss(y, score)) if len(y) and probability else None,
        "at_k": at_k(months, y, score, ks),
        "calibration": {
            "predicted": [float(v) for v in pred],
            "observed": [float(v) for v in true],
        },
    }


def importance(
    pipe: Pipeline,
    x: Array,
    y: npt.NDArray[np.int_],
    features: list[str],
    seed: int = 0,
    max_rows: int = 5_000,
) -> list[dict[str, Any]]:
    """Permutation importance (fall in average precision), largest first."""
    from sklearn.inspection import permutation_importance

    if len(np.unique(y)) < 2:
        return []
    idx = sample_rows(len(y), max_rows, seed)
    with prediction_threads():
        result = permutation_importance(
            pipe,
            x[idx],
            y[idx],
            scoring="average_precision",
            n_repeats=3,
            random_state=seed,
            n_jobs=1,
        )
    rows = [
        {
            "feature": f,
            "label": FEATURE_LABELS[f].label if f in FEATURE_LABELS else f,
            "mean": float(m),
            "std": float(s),
        }
        for f, m, s in zip(features, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda r: (-r["mean"], r["feature"]))


def leakage_check(
    x: Array,
    y: npt.NDArray[np.int_],
    features: list[str],
    threshold: float = LEAK_AUC,
    max_rows: int = 200_000,
) -> list[dict[str, Any]]:
    """Features that on their own separate the label almost perfectly (AUC, either
    direction, at or above ``threshold``): the mark of a value copied from the future."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return []
    idx = sample_rows(len(y), max_rows, 0)
    x, y = x[idx], y[idx]
    flags = []
    for j, name in enumerate(features):
        col = x[:, j]
        filled = np.where(np.isnan(col), np.nanmedian(col) if np.isfinite(col).any() else 0, col)
        auc = float(roc_auc_score(y, filled))
        strength = max(auc, 1 - auc)
        if strength >= threshold:
            flags.append({"feature": name, "auc": round(strength, 4)})
    return flags


def _reason(name: str, value: float, push: float) -> str:
    feature = FEATURE_LABELS.get(name)
    label = feature.label if feature else name
    unit = f" {feature.unit}" if feature and feature.unit else ""
    shown = "unknown" if np.isnan(value) else f"{value:g}"
    return f"{label}: {shown}{unit} (+{100 * push:.0f} pts)"


def explain(
    pipe: Pipeline,
    x: Array,
    medians: Array,
    features: list[str],
    top: int = 3,
    min_push: float = 0.005,
) -> list[list[str]]:
    """Per row, the ``top`` features whose actual value raised the predicted probability the
    most over their training median (at least ``min_push``), as readable reasons."""
    if len(x) == 0:
        return []
    base = predict(pipe, x)
    pushes = np.zeros_like(x)
    for j in range(x.shape[1]):
        swapped = x.copy()
        swapped[:, j] = medians[j]
        pushes[:, j] = base - predict(pipe, swapped)
    out: list[list[str]] = []
    for i in range(len(x)):
        order = np.argsort(-pushes[i], kind="stable")[:top]
        out.append(
            [_reason(features[j], x[i, j], pushes[i, j]) for j in order if pushes[i, j] >= min_push]
        )
    return out


@dataclass
class FittedModel:
    """A fitted pipeline and everything needed to use and describe it."""

    pipeline: Pipeline
    features: list[str]
    label: str
    horizon_months: int
    medians: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame, chunk: int = 250_000) -> Array:
        """Probabilities for every row of ``frame``, a chunk at a time (a pool of millions of
        person-months as one float64 matrix would be gigabytes)."""
        parts = [
            predict(self.pipeline, matrix(frame.slice(i, chunk), self.features))
            for i in range(0, frame.height, chunk)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def explain(self, frame: pl.DataFrame, top: int = 3) -> list[list[str]]:
        med = np.asarray(self.medians, dtype=np.float64)
        return explain(self.pipeline, matrix(frame, self.features), med, self.features, top)


def train_model(
    frame: pl.DataFrame,
    features: list[str],
    label: str,
    y: npt.NDArray[np.int_],
    horizon_months: int,
    kind: str = "gbm",
    seed: int = 0,
    max_rows: int = 60_000,
) -> FittedModel:
    """Fit ``kind`` on ``frame`` (rows already restricted to the training months)."""
    idx, weights = sample_training(y, max_rows, seed)
    x = matrix(frame[idx], features)
    pipe = fit(kind, x, y[idx], seed, weights)
    medians = frame.select(pl.col(f).cast(pl.Float64).median() for f in features).row(0)
    return FittedModel(
        pipeline=pipe,
        features=list(features),
        label=label,
        horizon_months=horizon_months,
        medians=[float(m) if m is not None and np.isfinite(m) else 0.0 for m in medians],
        meta={
            "kind": kind,
            "train_rows": len(idx),
            "train_positives": int(y[idx].sum()),
            "seed": seed,
        },
    )


def _version(module: str, distribution: str) -> str:
    """A library's version: the loaded module's own, else its installed distribution's
    (the same number, without importing it)."""
    loaded = sys.modules.get(module)
    version = getattr(loaded, "__version__", None)
    return str(version) if version is not None else metadata.version(distribution)


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": _version("sklearn", "scikit-learn"),
        "numpy": np.__version__,
        "joblib": _version("joblib", "joblib"),
        "polars": pl.__version__,
        "chi": __version__,
    }


def save_model(model: FittedModel, folder: Path) -> Path:
    """Write ``model.joblib`` and ``model.json`` into ``folder`` (created)."""
    import joblib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    joblib.dump(model.pipeline, path, compress=3)
    meta = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "label": model.label,
        "horizon_months": model.horizon_months,
        "features": model.features,
        "medians": model.medians,
        "versions": library_versions(),
        **model.meta,
        "sha256": file_sha256(path),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: no saved model (no {META_FILE}); run `chi backtest` first")
    try:
        meta: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        raise ModelError(f"{path}: not valid JSON") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not a chi forecast model (format {meta.get('format')!r})")
    return meta


def load_model(folder: Path) -> FittedModel:
    """Load a saved model after checking its checksum and scikit-learn version."""
    import joblib
    import sklearn
    from sklearn.pipeline import Pipeline

    folder = Path(folder)
    meta = read_meta(folder)
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: {MODEL_FILE} is missing")
    if file_sha256(path) != meta.get("sha256"):
        raise ModelError(f"{path}: checksum does not match {META_FILE}; the file was altered")
    fitted_with = meta.get("versions", {}).get("scikit-learn")
    if fitted_with != sklearn.__version__:
        raise ModelError(
            f"{folder}: model fitted with scikit-learn {fitted_with}, this is "
            f"{sklearn.__version__}; refit it with `chi backtest RUN --model-dir {folder}`"
        )
    pipeline = joblib.load(path)
    if not isinstance(pipeline, Pipeline):
        raise ModelError(f"{path}: not a scikit-learn pipeline")
    extra = {
        k: v for k, v in meta.items() if k not in {"label", "horizon_months", "features", "medians"}
    }
    return FittedModel(
        pipeline=pipeline,
        features=list(meta["features"]),
        label=str(meta["label"]),
        horizon_months=int(meta["horizon_months"]),
        medians=[float(v) for v in meta["medians"]],
        meta=extra,
    )
