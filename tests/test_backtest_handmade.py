"""The backtest on a hand-made history, every figure computed by hand in the comments.

Crimes from 2024-02, as-of 2024-06-30, one month of history before a list month
(``min_history_months=1``), horizon 3 months, no model: list months 2024-02 (outcomes
March-May) and 2024-03 (outcomes April-June). Weights: GBH s20 547.5, ABH 10,
shoplifting 1, murder 5475 days.

    A   2024-02-10 GBH 547.5                 | 2024-04-15 ABH 10
    B   2024-02-20 ABH 10, 02-21 shop 1,      | 2024-05-10 GBH 547.5
        2024-03-05 ABH 10, 03-20 shop 1       |
    C   2024-03-10 shop 1 (in Peterborough)   | 2024-06-20 murder 5475
    D                                         | 2024-04-01 ABH 10 (new victim)
    E   2024-02-05 ABH 10, died 2024-02-25    |
    ORG                                       | 2024-04-02 ABH 10 (an organisation)
"""

from __future__ import annotations

import polars as pl
import pytest
from factory import GBH_S20, LSOA_B, MURDER, SHOPLIFTING, crime, person, victim, write_extract

from chi.forecast.backtest import Options, plan_months, run_backtest
from chi.forecast.history import History, load_history
from chi.scoring.policy import Policy


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("handmade") / "extract"
    crimes = [
        crime("A1", "2024-02-10", offence_code=GBH_S20),
        crime("A2", "2024-04-15"),
        crime("B1", "2024-02-20"),
        crime("B2", "2024-02-21", offence_code=SHOPLIFTING),
        crime("B3", "2024-03-05"),
        crime("B4", "2024-03-20", offence_code=SHOPLIFTING),
        crime("B5", "2024-05-10", offence_code=GBH_S20),
        crime("C1", "2024-03-10", offence_code=SHOPLIFTING, lsoa_code=LSOA_B),
        crime("C2", "2024-06-20", offence_code=MURDER, lsoa_code=LSOA_B),
        crime("D1", "2024-04-01"),
        crime("E1", "2024-02-05"),
        crime("O1", "2024-04-02"),
    ]
    persons = [
        person("A"),
        person("B", sex="M"),
        person("C"),
        person("D"),
        person("E", deceased_date="2024-02-25"),
        person("ORG", person_type="organisation", sex=None, birth_date=None),
    ]
    victims = [
        victim(c["crime_id"], c["crime_id"][0] if c["crime_id"][0] != "O" else "ORG")
        for c in crimes
    ]
    write_extract(folder, crimes, persons, victims, as_of="2024-06-30")
    return load_history(folder, Policy())


OPTS = Options(ks=(1, 2), horizons=(3,), min_history_months=1, model=False)


def _share(bt_capture: pl.DataFrame, policy: str, k: int) -> tuple[float, float]:
    row = bt_capture.filter((pl.col("policy") == policy) & (pl.col("k") == k)).row(0, named=True)
    return row["harm_pct"], row["victimisations_pct"]


def test_plan_says_which_months(history: History) -> None:
    p = plan_months(history, OPTS)
    assert [m.isoformat()[:7] for m in p.test_months[3]] == ["2024-02", "2024-03"]
    assert p.train_months == ()
    assert "not run" in p.model_note


def test_totals_count_every_individual_and_no_organisation(history: History) -> None:
    bt = run_backtest(history, OPTS)
    row = bt.capture.filter((pl.col("policy") == "chi_harm") & (pl.col("k") == 1)).row(
        0, named=True
    )
    # February's horizon (March-May): A 10, B 10+1+547.5, C 1, D 10 = 579.5 days, 6
    # victimisations; March's (April-June): A 10, B 547.5, C 5475, D 10 = 6042.5 days, 4.
    # The organisation's ABH counts in neither.
    assert row["harm_total_c"] == 57950 + 604250
    assert row["victimisations_total"] == 6 + 4
    assert row["months"] == 2


def test_capture_by_hand(history: History) -> None:
    cap = run_backtest(history, OPTS).capture
    total_harm, total_n = 6622.0, 10
    # Pools: February A (547.5, 1), B (11, 2); E died on 25 February and is not eligible.
    # March A (547.5, 1), B (22, 4), C (1, 1).
    #
    # chi_harm, k=1: A both months: 10 + 10 = 20 days; 1 + 1 victimisations.
    assert _share(cap, "chi_harm", 1) == pytest.approx((100 * 20 / total_harm, 100 * 2 / total_n))
    # chi_harm, k=2: Feb A+B 10 + 558.5 = 568.5 (1 + 3); Mar A+B 10 + 547.5 = 557.5 (1 + 1).
    assert _share(cap, "chi_harm", 2) == pytest.approx((100 * 1126 / total_harm, 100 * 6 / total_n))
    # count, k=1: B both months (2 and 4 victimisations): 558.5 + 547.5 = 1106; 3 + 1.
    assert _share(cap, "count", 1) == pytest.approx((100 * 1106 / total_harm, 100 * 4 / total_n))
    # oracle, k=1: harm ranked by future harm: Feb B 558.5, Mar C 5475 = 6033.5;
    # victimisations ranked by future count: Feb B 3, Mar one of A, B, C with 1 = 4.
    assert _share(cap, "oracle", 1) == pytest.approx((100 * 6033.5 / total_harm, 100 * 4 / total_n))
    # oracle, k=2: Feb A+B 568.5 (4); Mar C+B 6022.5 (2).
    assert _share(cap, "oracle", 2) == pytest.approx((100 * 6591 / total_harm, 100 * 6 / total_n))


def test_rfg_ties_break_on_harm_then_person(history: History) -> None:
    # February: A recency 19 days, B 8; A 1 victimisation, B 2; harm A 547.5, B 11.
    # Percent ranks over two people are 0 or 1: A = (0 + 0 + 2*1)/4 = 0.5,
    # B = (1 + 1 + 2*0)/4 = 0.5: a tie, broken by harm, so A is first in February.
    # March: recency A 50, B 11, C 21 -> ranks A 0, C 0.5, B 1; frequency A 0, C 0, B 1
    # (A and C tie at one victimisation: both rank 0); gravity C 0, B 0.5, A 1.
    # A = (0 + 0 + 2)/4 = 0.5, B = (1 + 1 + 1)/4 = 0.75, C = (0.5 + 0 + 0)/4 = 0.125:
    # B first in March. k=1: A in Feb (10 days, 1) + B in Mar (547.5, 1).
    cap = run_backtest(history, OPTS).capture
    assert _share(cap, "rfg", 1) == pytest.approx((100 * 557.5 / 6622, 100 * 2 / 10))


def test_per_neighbourhood(history: History) -> None:
    # Everyone lives in Arbury except C, whose only mapped crime is in Barnack. Top 1 of
    # each neighbourhood by CHI harm: Feb A (10; 1); Mar A and C (10 + 5475; 1 + 1).
    opts = Options(
        ks=(1,), horizons=(3,), min_history_months=1, model=False, per_neighbourhood=True
    )
    cap = run_backtest(history, opts).capture
    assert _share(cap, "chi_harm", 1) == pytest.approx((100 * 5495 / 6622, 100 * 3 / 10))
    listed = cap.filter((pl.col("policy") == "chi_harm") & (pl.col("k") == 1))
    assert listed["listed_per_month"][0] == pytest.approx(1.5)  # 1 in Feb, 2 in Mar


def test_oracle_bounds_every_policy(history: History) -> None:
    for per_nb in (False, True):
        opts = Options(
            ks=(1, 2, 3),
            horizons=(1, 3),
            min_history_months=1,
            model=False,
            per_neighbourhood=per_nb,
        )
        bt = run_backtest(history, opts)
        assert_oracle_bounds(bt.curves)


def assert_oracle_bounds(curves: pl.DataFrame) -> None:
    oracle = curves.filter(pl.col("policy") == "oracle").select(
        "horizon",
        "k",
        pl.col("harm_pct").alias("o_harm"),
        pl.col("victimisations_pct").alias("o_n"),
    )
    joined = curves.join(oracle, on=["horizon", "k"])
    assert joined.height == curves.height
    assert (joined["harm_pct"] <= joined["o_harm"] + 1e-9).all()
    assert (joined["victimisations_pct"] <= joined["o_n"] + 1e-9).all()
