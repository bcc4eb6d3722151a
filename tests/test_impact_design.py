"""The impact review's design choices, on hand-made cohorts: the bootstrap resamples people,
not rows (a person listed in several months is one person), and pooled list months (off by
default) take comparisons only from months within the window whose after-period has ended.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import chi.meetings.impact as impact
from chi.meetings.impact import impact_review

AREAS = pl.DataFrame({"neighbourhood_code": ["N1"], "area": ["South"]})
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def _row(person: str, month: str) -> dict[str, object]:
    return {
        "month": month,
        "person_id": person,
        "neighbourhood_code": "N1",
        "harm_days": 10.0,
        "da_crimes": 0,
        "status": "new",
    }


def _v(person: str, month: str, n: int = 1) -> list[dict[str, object]]:
    return [{"person_id": person, "month": month, "weight": 10.0, "counted": True}] * n


def _four_months(shared_ids: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ten cohort members a month over four months, and 25 comparison people on the list in
    every one of those months. Everyone has one victimisation in 2023-12 (the same path, so
    everyone matches everyone listed in their month); comparison person j has j % 5
    victimisations in 2024-06, which is in the after-period of all four months, so each
    comparison person's four rows carry the same outcome. With ``shared_ids`` false, each
    comparison row belongs to a different person (100 people, the same figures)."""
    rng = np.random.default_rng(5)
    lists: list[dict[str, object]] = []
    vict: list[dict[str, object]] = []
    for m, month in enumerate(MONTHS):
        for i in range(10):
            member = f"E{m}{i}"
            lists.append(_row(member, month))
            vict += _v(member, "2023-12") + _v(member, "2024-06", int(rng.integers(0, 3)))
        for j in range(25):
            person = f"C{j}" if shared_ids else f"C{j}-{m}"
            lists.append(_row(person, month))
            if not shared_ids or m == 0:
                vict += _v(person, "2023-12") + _v(person, "2024-06", j % 5)
    engaged = pl.DataFrame(
        {
            "person_id": [f"E{m}{i}" for m in range(4) for i in range(10)],
            "index_month": [MONTHS[m] for m in range(4) for _ in range(10)],
        }
    )
    return pl.DataFrame(lists), pl.DataFrame(vict), engaged


def test_a_person_listed_in_four_months_is_resampled_as_one_person() -> None:
    lists, vict, engaged = _four_months(shared_ids=True)
    shared = impact_review(lists, vict, engaged, AREAS, "2024-10", reps=2000)
    lists, vict, engaged = _four_months(shared_ids=False)
    apart = impact_review(lists, vict, engaged, AREAS, "2024-10", reps=2000)
    # The same rows, the same matches, the same estimate.
    assert (shared.engaged, shared.comparison) == (apart.engaged, apart.comparison) == (40, 100)
    v, w = shared.victimisations, apart.victimisations
    assert v.relative_effect == pytest.approx(w.relative_effect)
    assert v.after_comparison == pytest.approx(2.0)  # (0 + 1 + 2 + 3 + 4) / 5
    # But 25 people seen four times are 25 people. By hand (delta method for a ratio of
    # means): SE(a / c) = (a / c) * sqrt(var_a / (n_a a^2) + var_c / (n_c c^2)), with the
    # comparison's outcomes 0, 1, 2, 3, 4 (variance 2, mean 2) from 25 people, not 100.
    after = np.array([len(x) for x in _member_after(vict)])
    a, var_a = after.mean(), after.var()
    for result, people in ((shared, 25), (apart, 100)):
        by_hand = a / 2 * np.sqrt(var_a / (40 * a**2) + 2 / (people * 4))
        assert result.mde_victimisations is not None
        assert result.mde_victimisations / impact.POWER_Z == pytest.approx(by_hand, rel=0.15)
    assert v.ci_high - v.ci_low > 1.15 * (w.ci_high - w.ci_low)


def _member_after(vict: pl.DataFrame) -> list[list[str]]:
    """Each cohort member's victimisations in 2024-06 (their after-period)."""
    after = vict.filter(pl.col("person_id").str.starts_with("E") & (pl.col("month") == "2024-06"))
    return [
        after.filter(pl.col("person_id") == f"E{m}{i}")["month"].to_list()
        for m in range(4)
        for i in range(10)
    ]


def test_people_are_one_index_in_the_cohort_and_the_comparison() -> None:
    e = pl.DataFrame({"person_id": ["A", "B"]})
    c = pl.DataFrame({"person_id": ["B", "C", "B", "A"]})
    ei, ci = impact._people(e, c)
    assert ei.tolist() == [0, 1] and ci.tolist() == [1, 2, 1, 0]


def test_pooled_months_take_comparisons_within_the_window_with_a_finished_after_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # E is engaged in 2024-03. Comparisons with E's path (one victimisation in their list
    # month) are listed in 2024-02 (one month away), 2024-01 (two months away) and 2024-04
    # (one month away, but its after-period, 2024-05..2024-10, has not ended by 2024-09).
    monkeypatch.setattr(impact, "MONTH_WINDOW", 1)
    lists = pl.DataFrame(
        [_row("E", "2024-03"), _row("C1", "2024-02"), _row("C2", "2024-01"), _row("C3", "2024-04")]
    )
    vict = pl.DataFrame(
        [
            *_v("E", "2024-03"),
            *_v("C1", "2024-02"),
            *_v("C2", "2024-01"),
            *_v("C3", "2024-04"),
            *_v("C1", "2024-05", 2),
        ]
    )
    engaged = pl.DataFrame({"person_id": ["E"], "index_month": ["2024-03"]})
    r = impact_review(lists, vict, engaged, AREAS, "2024-09", reps=1)
    assert r.matched.filter(pl.col("group") == "comparison")["person_id"].to_list() == ["C1"]
    assert (r.engaged, r.comparison) == (1, 1)
    assert r.victimisations.after_comparison == 2
    assert impact.comparison_months() == "listed within 1 month of them"
    # By default comparisons come from the same list month only: nobody here.
    monkeypatch.setattr(impact, "MONTH_WINDOW", 0)
    r = impact_review(lists, vict, engaged, AREAS, "2024-09", reps=1)
    assert (r.engaged, r.unmatched_engaged) == (0, 1)
    assert "listed in the same month" in r.withheld[0]
