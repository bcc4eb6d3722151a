"""Which ranking a forecast policy uses: chosen out of time, never a loser to its baseline.

Three candidates rank the pool for each label: the gradient-boosted model, the logistic
baseline, and the plain CHI-harm ranking (today's list order, no model at all). The models
are fitted on the earlier training list months and all three are scored on the later ones
(the validation months: list months after every month a model learnt from). The candidate
with the highest validation AUC is chosen, but a more complex candidate must beat every
simpler one: gradient boosting is used only if it beats the logistic baseline *and* the
CHI-harm ranking, the logistic model only if it beats the CHI-harm ranking. When the CHI-harm
ranking wins, the forecast adds nothing and is not offered as a policy.

The validation months' outcomes overlap in calendar time with the later training months'
(a 12-month horizon is longer than the gap between them), so validation AUCs are a little
optimistic for every candidate alike; the test months, whose outcomes all start after the
training outcomes end, give the out-of-time AUC reported beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

CANDIDATES = ("chi_harm", "logistic", "gbm")
"""Simplest first: a candidate is chosen only if it beats every simpler one."""
CANDIDATE_NAMES = {
    "chi_harm": "CHI-harm ranking",
    "logistic": "logistic baseline",
    "gbm": "gradient boosting",
}


def chi_harm_score(frame: pl.DataFrame) -> npt.NDArray[np.float64]:
    """A number that orders the pool as the CHI-harm policy does within a month: on the
    list first, then harm in the window, then count, then the most recent victimisation."""
    listed = frame["policy_listed"].cast(pl.Float64).to_numpy()
    harm = frame["policy_harm_c"].cast(pl.Float64).to_numpy()
    n = np.minimum(frame["policy_n"].cast(pl.Float64).to_numpy(), 9_999)
    recent = 1.0 - np.minimum(frame["days_since_last"].cast(pl.Float64).to_numpy(), 9_999) / 1e4
    out: npt.NDArray[np.float64] = listed * 1e12 + harm * 1e4 + n + 0.5 * recent
    return out


def validation_auc(y: npt.NDArray[np.int_], score: npt.NDArray[np.float64]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, score))


def choose_model(auc: dict[str, float | None]) -> dict[str, Any]:
    """The candidate to use and why, from each candidate's validation AUC."""
    chosen = "chi_harm"
    for kind in CANDIDATES[1:]:
        a = auc.get(kind)
        if a is None:
            continue
        simpler = [auc.get(c) for c in CANDIDATES[: CANDIDATES.index(kind)]]
        if all(s is None or a > s for s in simpler):
            chosen = kind
    best = auc.get(chosen)
    others = {k: v for k, v in auc.items() if k != chosen and v is not None}
    if best is None:
        reason = "no candidate could be measured on the validation months"
    else:
        runner = max(others, key=lambda k: others[k]) if others else None
        margin = best - others[runner] if runner is not None else None
        reason = f"{CANDIDATE_NAMES[chosen]} had the highest validation AUC, {best:.3f}"
        if runner is not None and margin is not None:
            reason += (
                f", {margin:+.3f} against the next best ({CANDIDATE_NAMES[runner]}, "
                f"{others[runner]:.3f})"
            )
        if chosen == "chi_harm":
            reason += "; no model beat it, so no forecast is used for this label"
    margins = {
        k: (best - v if best is not None and v is not None else None) for k, v in others.items()
    }
    return {
        "chosen": chosen,
        "chosen_name": CANDIDATE_NAMES[chosen],
        "validation_auc": auc,
        "margin_over": margins,
        "reason": reason,
    }
