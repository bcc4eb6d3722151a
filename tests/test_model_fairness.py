"""The fairness audit on a hand-made pool, rates and gaps computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from chi.forecast.backtest import against_reference
from chi.forecast.fairness import FairnessOptions, audit, group_counts


def _people(group: str, n: int, listed: int, victimised: int, both: int) -> list[dict[str, object]]:
    """``n`` people of sex ``group``: ``both`` listed and victimised, the rest of the listed
    not victimised, the rest of the victimised not listed."""
    rows = []
    for i in range(n):
        is_listed = i < listed
        is_victimised = i < both or listed <= i < listed + victimised - both
        rows.append(
            {
                "sex": group,
                "age_band": "25-34",
                "ethnicity": "white",
                "area": "North",
                "listed": is_listed,
                "victimised": is_victimised,
            }
        )
    return rows


@pytest.fixture
def pool() -> pl.DataFrame:
    return pl.DataFrame(
        _people("F", 100, listed=20, victimised=40, both=16)
        + _people("M", 100, listed=10, victimised=20, both=4)
        + _people("X", 5, listed=5, victimised=5, both=5)
        + _people("unknown", 50, listed=0, victimised=50, both=0)
    )


def test_rates_and_gaps_by_hand(pool: pl.DataFrame) -> None:
    counts = group_counts(pool, pool.filter(pl.col("listed")))
    groups, gaps = audit(counts, FairnessOptions(gap=0.10, ratio=1.25, min_group=10))
    sex = {r["group"]: r for r in groups.filter(pl.col("attribute") == "sex").iter_rows(named=True)}
    # F: listed 20/100 = 0.20, precision 16/20 = 0.80, false negatives (40-16)/40 = 0.60.
    # M: listed 10/100 = 0.10, precision 4/10 = 0.40, false negatives (20-4)/20 = 0.80.
    assert (
        sex["F"]["listing_rate"],
        sex["F"]["precision"],
        sex["F"]["false_negative_rate"],
    ) == pytest.approx((0.20, 0.80, 0.60))
    assert (
        sex["M"]["listing_rate"],
        sex["M"]["precision"],
        sex["M"]["false_negative_rate"],
    ) == pytest.approx((0.10, 0.40, 0.80))
    # Overall listing rate (20+10+5+0)/255; F's ratio to it 0.20 / (35/255).
    assert sex["F"]["listing_ratio"] == pytest.approx(0.20 / (35 / 255))
    g = {r["measure"]: r for r in gaps.filter(pl.col("attribute") == "sex").iter_rows(named=True)}
    # X (5 people) is under min_group, unknown is never compared: F against M only.
    assert g["listing_rate"]["groups_compared"] == 2
    assert g["listing_rate"]["gap"] == pytest.approx(0.10)
    assert g["listing_rate"]["ratio"] == pytest.approx(2.0)
    assert g["listing_rate"]["flagged"]  # ratio 2.0 > 1.25
    assert g["precision"]["gap"] == pytest.approx(0.40)
    assert (g["precision"]["max_group"], g["precision"]["min_group"]) == ("F", "M")
    assert g["precision"]["flagged"]
    assert g["false_negative_rate"]["gap"] == pytest.approx(0.20)
    assert g["false_negative_rate"]["flagged"]
    # One group only: nothing to compare, nothing flagged.
    area = gaps.filter(pl.col("attribute") == "area")
    assert area["groups_compared"].to_list() == [1, 1, 1]
    assert not area["flagged"].any()


def test_thresholds_are_configurable(pool: pl.DataFrame) -> None:
    counts = group_counts(pool, pool.filter(pl.col("listed")))
    _, gaps = audit(counts, FairnessOptions(gap=0.5, ratio=3.0, min_group=10))
    assert not gaps.filter(pl.col("attribute") == "sex")["flagged"].any()
    _, gaps = audit(counts, FairnessOptions(gap=0.1, ratio=3.0, min_group=25))
    # With min_group 25, M's 10 listed are too few for precision; F's 20 too.
    prec = gaps.filter((pl.col("attribute") == "sex") & (pl.col("measure") == "precision"))
    assert prec["groups_compared"][0] == 0


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        FairnessOptions(gap=0)
    with pytest.raises(ValueError):
        FairnessOptions(ratio=1.0)


def test_gaps_are_read_against_a_reference(pool: pl.DataFrame) -> None:
    listed = pool.filter(pl.col("listed"))
    counts = pl.concat(
        [
            group_counts(pool, listed).with_columns(policy=pl.lit("chi_harm"), k=pl.lit(10)),
            group_counts(
                pool, pool.filter(pl.col("victimised") & (pl.col("sex") != "unknown"))
            ).with_columns(policy=pl.lit("oracle"), k=pl.lit(10)),
        ]
    )
    opts = FairnessOptions(min_group=10)
    groups, gaps = audit(counts, opts, keys=["policy", "k"])
    read = against_reference(gaps, groups, opts).filter(
        (pl.col("policy") == "chi_harm") & (pl.col("attribute") == "sex")
    )
    rate = read.filter(pl.col("measure") == "listing_rate").row(0, named=True)
    # The oracle lists everyone victimised: F 40/100, M 20/100 -> ratio 2.0, the same as
    # chi_harm's, so chi_harm's listing gap is flagged but not beyond the reference.
    assert rate["oracle_ratio"] == pytest.approx(2.0)
    assert rate["flagged"] and not rate["beyond_reference"]
    precision = read.filter(pl.col("measure") == "precision").row(0, named=True)
    # The oracle is always right, so precision is judged against the pool's rates of being
    # victimised again: F 40/100 and M 20/100 differ by 0.2; chi_harm's precision F 16/20 =
    # 0.8 against M 4/10 = 0.4 is a gap of 0.4, 0.2 beyond it (> the 0.1 threshold).
    assert precision["oracle_gap"] == pytest.approx(0.0)
    assert precision["reference_gap"] == pytest.approx(0.2)
    assert precision["excess"] == pytest.approx(0.2)
    assert precision["beyond_reference"]
    assert precision["meaning"].startswith(
        "At k=10, CHI-harm ranking: F 80.0% victimised again among those listed against "
        "M 40.0% (by sex)"
    )
    assert "out of proportion" in precision["meaning"]
    assert rate["meaning"].endswith("rather than the ranking.")


def test_a_precision_gap_in_line_with_the_pool_is_not_beyond_it() -> None:
    # F: pool 100, 60 victimised again, listed 20 of whom 12 victimised (0.6);
    # M: pool 100, 30 victimised again, listed 20 of whom 5 victimised (0.25).
    # Gap 0.35 against a reference of 0.3: excess 0.05, within the 0.1 threshold.
    rows = _people("F", 100, listed=20, victimised=60, both=12) + _people(
        "M", 100, listed=20, victimised=30, both=5
    )
    pool = pl.DataFrame(rows)
    counts = group_counts(pool, pool.filter(pl.col("listed"))).with_columns(
        policy=pl.lit("count"), k=pl.lit(20)
    )
    opts = FairnessOptions(min_group=10)
    groups, gaps = audit(counts, opts, keys=["policy", "k"])
    read = against_reference(gaps, groups, opts).filter(
        (pl.col("attribute") == "sex") & (pl.col("measure") == "precision")
    )
    row = read.row(0, named=True)
    assert row["gap"] == pytest.approx(0.35)
    assert row["reference_gap"] == pytest.approx(0.3)
    assert row["flagged"] and not row["beyond_reference"]


def test_small_groups_are_not_compared_by_default() -> None:
    assert FairnessOptions().min_group == 100


def test_a_listing_ratio_is_judged_against_the_oracles_times_the_threshold() -> None:
    # count lists F 24/100 and M 10/100 (ratio 2.4); the oracle lists those victimised
    # again, F 40/100 and M 20/100 (ratio 2.0). 2.4 / 2.0 = 1.2 <= 1.25: in proportion.
    pool = pl.DataFrame(
        _people("F", 100, listed=24, victimised=40, both=10)
        + _people("M", 100, listed=10, victimised=20, both=4)
    )
    counts = pl.concat(
        [
            group_counts(pool, pool.filter(pl.col("listed"))).with_columns(
                policy=pl.lit("count"), k=pl.lit(10)
            ),
            group_counts(pool, pool.filter(pl.col("victimised"))).with_columns(
                policy=pl.lit("oracle"), k=pl.lit(10)
            ),
        ]
    )
    opts = FairnessOptions(min_group=10)
    groups, gaps = audit(counts, opts, keys=["policy", "k"])
    read = against_reference(gaps, groups, opts).filter(
        (pl.col("policy") == "count")
        & (pl.col("attribute") == "sex")
        & (pl.col("measure") == "listing_rate")
    )
    row = read.row(0, named=True)
    assert row["ratio"] == pytest.approx(2.4) and row["oracle_ratio"] == pytest.approx(2.0)
    assert row["flagged"] and not row["beyond_reference"]
    stricter = against_reference(gaps, groups, FairnessOptions(min_group=10, ratio=1.1))
    assert stricter.filter(
        (pl.col("policy") == "count")
        & (pl.col("attribute") == "sex")
        & (pl.col("measure") == "listing_rate")
    )["beyond_reference"].item()
