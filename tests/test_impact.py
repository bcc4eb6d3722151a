"""Impact review and cohort tracking on a hand-made cohort (every figure worked by hand)."""

from __future__ import annotations

import polars as pl
import pytest

from chi.exports.formats import ExportMeta
from chi.meetings.impact import cohort_tracking, impact_review, review_pdf, review_sections

AREAS = pl.DataFrame({"neighbourhood_code": ["N1"], "area": ["South"]})


def _listed(person: str, month: str, harm: float, da: int = 0) -> dict[str, object]:
    return {
        "month": month,
        "person_id": person,
        "neighbourhood_code": "N1",
        "harm_days": harm,
        "da_crimes": da,
    }


def _v(person: str, month: str, weight: float) -> dict[str, object]:
    return {"person_id": person, "month": month, "weight": weight, "counted": True}


LISTS = pl.DataFrame(
    [
        _listed("E1", "2024-01", 400),
        _listed("E2", "2024-01", 400),
        _listed("E3", "2024-03", 400),  # engaged too late: after-period not over by 2024-07
        _listed("E4", "2024-01", 2000, da=1),  # no comparison in its stratum
        _listed("C1", "2024-01", 400),
        _listed("C2", "2024-01", 400),
        _listed("C3", "2024-01", 400),
        _listed("C4", "2024-01", 2000),  # band 3 but not DA: not E4's stratum
    ]
)
# Before = 2023-08..2024-01, after = 2024-02..2024-07.
VICTIMISATIONS = pl.DataFrame(
    [
        *[_v(p, "2023-12", 400) for p in ("E1", "E2", "C1", "C2", "C3")],
        _v("E1", "2024-03", 100),
        _v("E2", "2024-05", 200),
        _v("C1", "2024-02", 300),
        _v("C2", "2024-07", 200),
        _v("C3", "2024-04", 250),
        _v("C3", "2024-08", 999),  # after the after-period: ignored
        _v("E4", "2024-01", 2000),
        _v("C4", "2024-01", 2000),
    ]
)
ENGAGED = pl.DataFrame(
    {
        "person_id": ["E1", "E2", "E3", "E4"],
        "index_month": ["2024-01", "2024-01", "2024-03", "2024-01"],
    }
)


def test_difference_in_differences_by_hand() -> None:
    r = impact_review(LISTS, VICTIMISATIONS, ENGAGED, AREAS, "2024-07", reps=300)
    # Engaged E1, E2: change -300 and -200 (mean -250), after mean 150.
    # Comparison C1..C3 (weights 2/3 each): change -100, -200, -150 (mean -150).
    # DiD = -250 - (-150) = -100; counterfactual after = 150 + 100 = 250; relative -0.4.
    assert (r.engaged, r.comparison, r.unmatched_engaged, r.not_yet_reviewable) == (2, 3, 1, 1)
    assert (r.before_engaged, r.after_engaged) == (400, 150)
    assert (r.before_comparison, r.after_comparison) == pytest.approx((400, 250))
    assert r.did == pytest.approx(-100)
    assert r.relative_effect == pytest.approx(-0.4)
    assert r.naive_change == pytest.approx(-0.625)  # what a before/after review would claim
    assert r.ci_low <= r.relative_effect <= r.ci_high
    text = r.explanation()
    assert "fell by 63%" in text and "fell by 38% too" in text
    assert (r.cohort, r.reviewable, r.not_listed) == (4, 3, 0)
    assert r.matched_share == pytest.approx(2 / 3)
    stratum = {"month": "2024-01", "area": "South", "status": "new", "high_harm": False}
    assert r.strata == [
        {
            **stratum,
            "da": "false",
            "repeat": False,
            "child": False,
            "engaged": 2,
            "matched": 2,
            "comparison": 3,
        },
        {
            **stratum,
            "da": "true",
            "repeat": False,
            "child": False,
            "engaged": 1,
            "matched": 0,
            "comparison": 0,
        },
    ]
    # Every comparison has exactly the cohort's path (400 days in 2023-12), so each cohort
    # member is matched to all three and the groups are balanced exactly.
    assert all(b.smd_after == 0 for b in r.balance)
    # The placebo months (2023-02..2023-07) are empty for everyone: no difference.
    assert r.placebo_victimisations.relative_effect == 0
    assert r.placebo_victimisations.covers_zero
    # Two people reviewed: far too few for a verdict, and the review says so.
    assert r.withheld and "Only 2 cohort members found a comparison" in r.withheld[0]
    assert "No verdict" in text


def _with_status(person: str, month: str, harm: float, status: str) -> dict[str, object]:
    return {**_listed(person, month, harm), "status": status}


def _lists_abcfd(a_harm: float) -> pl.DataFrame:
    return pl.DataFrame(
        [
            _with_status("A", "2024-01", a_harm, "new"),
            _with_status("B", "2024-01", 400, "new"),
            _with_status("C", "2024-01", 400, "new"),
            _with_status("F", "2024-01", 400, "new"),  # engaged later: still a comparison here
            _with_status("D", "2024-01", 400, "continuing"),  # not comparable with new entries
        ]
    )


COMPARISON_ROWS = [
    *[_v(p, "2023-12", 400) for p in ("B", "C", "F", "D")],
    _v("B", "2024-02", 200),
    _v("C", "2024-05", 200),
    _v("F", "2024-04", 100),
    _v("D", "2024-02", 5000),
]
# F's engagement is for 2024-03, when F was not on the list: counted, never reviewed.
ENGAGED_AF = pl.DataFrame({"person_id": ["A", "F"], "index_month": ["2024-01", "2024-03"]})


def test_proportional_difference_in_differences_by_hand() -> None:
    victimisations = pl.DataFrame(
        [_v("A", "2023-12", 400), _v("A", "2024-03", 200), *COMPARISON_ROWS]
    )
    r = impact_review(_lists_abcfd(400), victimisations, ENGAGED_AF, AREAS, "2024-07", reps=200)
    assert (r.engaged, r.comparison, r.unmatched_engaged, r.not_listed) == (1, 3, 0, 1)
    assert r.cohort == 2 and r.not_yet_reviewable == 0
    # A has the comparisons' path exactly (400 days in 2023-12). Comparison harm fell from
    # 400 to (200 + 200 + 100) / 3 = 166.7, by 58.3%; had A fallen by as much, A's
    # after-period harm would be 400 x 5/12 = 166.7; it was 200, so +20%.
    h = r.harm
    assert h.comparison_change == pytest.approx(-7 / 12)
    assert h.counterfactual == pytest.approx(500 / 3)
    assert h.did == pytest.approx(200 - 500 / 3)
    assert h.relative_effect == pytest.approx(0.2)
    assert h.naive_change == pytest.approx(-0.5)
    # Victimisations: A 1 -> 1; each comparison 1 -> 1, so A's counterfactual is 1.
    v = r.victimisations
    assert (v.before_engaged, v.after_engaged, v.counterfactual) == (1, 1, 1)
    assert v.relative_effect == 0
    # A cohort of one: the figures are shown, the verdict is not.
    assert r.withheld == [
        "Only 1 cohort member found a comparison: too few for a verdict (at least 20 are needed)."
    ]
    assert "No verdict" in r.explanation() and "engagement reduced" not in r.explanation()
    assert r.matched.filter(pl.col("group") == "comparison")["person_id"].sort().to_list() == [
        "B",
        "C",
        "F",
    ]
    table = r.table()
    assert table.columns == ["measure", "group", "people", "before", "after", "change"]
    assert table.row(0) == ("harm", "engaged", 1, 400, 200, -0.5)
    assert r.as_dict()["not_listed"] == 1


def test_a_cohort_member_unlike_every_comparison_is_unmatched() -> None:
    # A had three crimes (2023-10, 2023-11, 2023-12: 1,200 days) where B, C and F had one
    # (2023-12: 400). A differs from them in five of the 18 matching features (harm and
    # victimisations in months -3 and -2, harm in the window), each by 4 / sqrt(3) = 2.31
    # standard deviations (one value against three equal ones), so the root mean square
    # distance is sqrt(5 x 16/3 / 18) = 1.22: beyond the caliper of 1 used for a cohort too
    # small for a propensity score. A is not compared with people unlike them, and is
    # reported as unmatched.
    victimisations = pl.DataFrame(
        [
            _v("A", "2023-10", 400),
            _v("A", "2023-11", 400),
            _v("A", "2023-12", 400),
            _v("A", "2024-03", 200),
            *COMPARISON_ROWS,
        ]
    )
    r = impact_review(_lists_abcfd(1200), victimisations, ENGAGED_AF, AREAS, "2024-07", reps=50)
    assert (r.engaged, r.comparison, r.unmatched_engaged, r.not_listed) == (0, 0, 1, 1)
    assert r.matched_share == 0 and r.matched.columns == ["person_id", "month", "group", "weight"]
    assert r.withheld and "nothing to compare with" in r.withheld[0]
    assert r.explanation().startswith("No verdict: Nobody in the cohort")
    assert r.table()["people"].to_list() == [0, 0, 0, 0]
    # Before matching: in month -1 (2023-12) everyone had one victimisation, so no
    # difference; in month -2 (2023-11) A had one and the three others none. Both groups
    # are constant there, so the spread of all four (SD sqrt(3) / 4) scales the difference:
    # 1 / (sqrt(3) / 4) = 2.309.
    smd = {b.feature: b.smd_before for b in r.balance}
    assert smd["victimisations, month -1"] == 0
    assert smd["victimisations, month -2"] == pytest.approx(4 / 3**0.5)


def test_bootstrap_is_reproducible() -> None:
    a = impact_review(LISTS, VICTIMISATIONS, ENGAGED, AREAS, "2024-07", reps=200, seed=3)
    b = impact_review(LISTS, VICTIMISATIONS, ENGAGED, AREAS, "2024-07", reps=200, seed=3)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)


def test_nothing_reviewable_says_so() -> None:
    r = impact_review(LISTS, VICTIMISATIONS, ENGAGED, AREAS, "2024-05", reps=10)
    assert r.engaged == 0 and r.not_yet_reviewable == 4
    assert r.explanation().startswith("No cohort member's after-period has ended yet (4")
    assert r.withheld == [] and r.power_text() == ""


def test_cohort_tracking_relative_to_start() -> None:
    cohort = pl.DataFrame({"person_id": ["E1", "E2"], "start_month": ["2024-01", "2024-01"]})
    t = cohort_tracking(VICTIMISATIONS, cohort, span=3)
    got = dict(zip(t["relative_month"].to_list(), t["harm_per_person"].to_list(), strict=True))
    assert got == {-3: 0, -2: 0, -1: 400, 0: 0, 1: 0, 2: 50, 3: 0}
    assert t["people"].unique().to_list() == [2]
    counts = dict(zip(t["relative_month"], t["victimisations_per_person"], strict=True))
    assert (counts[-1], counts[2]) == (1, 0.5)


def test_cohort_tracking_weights_a_comparison_group() -> None:
    group = pl.DataFrame(
        {"person_id": ["C1", "C2"], "start_month": ["2024-01", "2024-01"], "weight": [3.0, 1.0]}
    )
    t = cohort_tracking(VICTIMISATIONS, group, span=1)
    # Month +1 (2024-02): C1 300 days, C2 nothing; weighted (3 x 300 + 1 x 0) / 4 = 225.
    assert t.filter(pl.col("relative_month") == 1)["harm_per_person"].item() == 225


def test_the_impact_pack_says_who_was_reviewed_the_verdict_and_the_power() -> None:
    r = impact_review(LISTS, VICTIMISATIONS, ENGAGED, AREAS, "2024-07", reps=200)
    intro, sections = review_sections(r)
    assert intro.startswith("Of 4 in the cohort: 2 reviewed against 3 comparisons (67% of the 3")
    assert "No verdict: Only 2 cohort members found a comparison" in intro
    assert "With 2 people reviewed, only a change larger than about" in intro
    assert [t for t, _ in sections] == ["Before and after", "Estimates", "Balance"]
    estimates = sections[1][1]
    assert estimates["naive before/after"].to_list() == ["-63%", "0%"]  # 1 -> 1 each
    assert estimates["estimate"][0] == "-40%"
    meta = ExportMeta("Impact review", "run", "w", "p", "2024-07-31", "now", "2024-07", "force")
    assert review_pdf(r, meta).startswith(b"%PDF")
