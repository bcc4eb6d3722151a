"""The time cut: a list month sees nothing recorded after its last day, and its outcomes see
nothing recorded on or before it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from factory import ABH, GBH_S20, crime, person, suspect, victim, write_extract

from chi.forecast.features import feature_table, outcomes
from chi.forecast.history import History, load_history
from chi.forecast.timecut import after_cut, cuts_frame, time_cut
from chi.months import month_end
from chi.scoring.policy import Policy


def _events(*days: str) -> pl.LazyFrame:
    return pl.DataFrame(
        {"recorded_date": [date.fromisoformat(d) for d in days], "id": list(range(len(days)))}
    ).lazy()


def test_time_cut_keeps_only_the_lookback_ending_with_the_month() -> None:
    events = _events("2021-03-31", "2021-04-01", "2024-03-01", "2024-03-31", "2024-04-01")
    seen = time_cut(events, cuts_frame([date(2024, 3, 1)]), 36).collect().sort("id")
    # 36 months ending with March 2024 run from 1 April 2021 to 31 March 2024.
    assert seen["recorded_date"].to_list() == [
        date(2021, 4, 1),
        date(2024, 3, 1),
        date(2024, 3, 31),
    ]
    assert seen["age_months"].to_list() == [35, 0, 0]


def test_time_cut_gives_each_month_its_own_view() -> None:
    events = _events("2024-01-15", "2024-02-15", "2024-03-15")
    cuts = cuts_frame([date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)])
    seen = time_cut(events, cuts, 2).collect()
    per_month = dict(
        seen.group_by("cut_month").agg(pl.col("id").sort()).sort("cut_month").iter_rows()
    )
    assert per_month == {"2024-01": [0], "2024-02": [0, 1], "2024-03": [1, 2]}
    assert (seen["recorded_date"] <= seen["cut_end"]).all()


def test_after_cut_is_the_horizon_and_only_the_horizon() -> None:
    events = _events("2024-03-31", "2024-04-01", "2024-06-30", "2024-07-01")
    ahead = after_cut(events, cuts_frame([date(2024, 3, 1)]), 3).collect().sort("id")
    assert ahead["recorded_date"].to_list() == [date(2024, 4, 1), date(2024, 6, 30)]


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        time_cut(_events("2024-01-01"), cuts_frame([date(2024, 1, 1)]), 0)
    with pytest.raises(ValueError):
        after_cut(_events("2024-01-01"), cuts_frame([date(2024, 1, 1)]), 0)


def truncated(h: History, cut: date) -> History:
    """``h`` as it stood on ``cut``: every event recorded after it removed."""

    def keep(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("recorded_date") <= cut)

    return replace(
        h,
        victimisations=keep(h.victimisations),
        suspect_events=keep(h.suspect_events),
        da_links=keep(h.da_links),
    )


def assert_no_future_in_features(h: History, months: list[date]) -> None:
    """Features of each month are the same whether or not the future exists."""
    for month in months:
        full = feature_table(h, [month])
        past = feature_table(truncated(h, month_end(month)), [month])
        assert full.height > 0
        assert full.equals(past), f"features of {month} changed when the future was removed"


@pytest.fixture(scope="module")
def small_history(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("timecut") / "extract"
    crimes = [
        crime("C1", "2024-01-31", domestic_abuse=True, da_relationship="intimate_partner"),
        crime(
            "C2",
            "2024-02-01",
            offence_code=GBH_S20,
            domestic_abuse=True,
            da_relationship="intimate_partner",
        ),
        crime(
            "C3", "2024-02-10", offence_code=ABH, domestic_abuse=True, da_relationship="ex_partner"
        ),
        crime("C4", "2024-03-05"),
    ]
    persons = [person("V1"), person("V2", sex="M"), person("O1", sex="M")]
    victims = [
        victim("C1", "V1", "standard"),
        victim("C2", "V1", "high"),
        victim("C3", "V2", "medium"),
        victim("C4", "O1"),
    ]
    suspects = [suspect("C1", "O1"), suspect("C2", "O1"), suspect("C3", "O1"), suspect("C4", "V2")]
    write_extract(folder, crimes, persons, victims, suspects, as_of="2024-06-30")
    return load_history(folder, Policy())


def test_a_feature_from_after_the_cut_cannot_reach_the_month(small_history: History) -> None:
    # C2 (GBH, DASH high, O1 becoming a serial DA offender with V2 on 10 February) is
    # recorded on 1 February: January's features must not see any of it.
    jan = feature_table(small_history, [date(2024, 1, 1)]).row(0, named=True)
    assert jan["person_id"] == "V1"
    assert (jan["n_12m"], jan["harm_12m"], jan["dash_max_12m"]) == (1, 10, 1)
    assert (jan["da_offenders_12m"], jan["linked_serial_da"]) == (1, 0)
    feb = feature_table(small_history, [date(2024, 2, 1)])
    v1 = feb.filter(pl.col("person_id") == "V1").row(0, named=True)
    assert (v1["n_12m"], v1["harm_12m"], v1["dash_max_12m"]) == (2, 557.5, 3)
    assert (v1["da_max_pair_12m"], v1["linked_serial_da"]) == (2, 1)
    v2 = feb.filter(pl.col("person_id") == "V2").row(0, named=True)
    assert v2["suspect_12m"] == 0  # V2 is a suspect only from March
    assert_no_future_in_features(small_history, [date(2024, m, 1) for m in (1, 2, 3, 4)])


def test_outcomes_start_the_day_after_the_cut(small_history: History) -> None:
    out = outcomes(small_history, [date(2024, 1, 1)], 1)
    # C1 on 31 January is January's past; C2 and C3 in February are its future.
    assert out.join(small_history.persons.select("pix", "person_id"), on="pix")[
        "person_id"
    ].sort().to_list() == ["V1", "V2"]
    assert out["fut_harm_c"].sum() == 54750 + 1000


def test_generated_history_has_no_future_in_its_features(generated_history: History) -> None:
    assert_no_future_in_features(generated_history, [date(2023, 12, 1), date(2024, 6, 1)])


@pytest.fixture(scope="module")
def generated_history(generated_extract: Path) -> History:
    return load_history(generated_extract, Policy())


def test_the_feature_age_is_whole_years_on_the_months_last_day(tmp_path: Path) -> None:
    """Age on the last day of the list month by the lists' rule. Found in session 24: the
    forecast's own copy multiplied polars' Int8 month by 100, which wraps, so people born in
    the first months of the year were a year too young (born 15 January 2000: 23, not 24,
    at the end of March 2024) and the fairness audit's age bands were wrong."""
    births = {
        "A": ("2000-01-15", 24),  # birthday passed in January
        "B": ("2000-03-31", 24),  # the birthday is the month's last day
        "C": ("2000-04-01", 23),  # not yet
        "D": ("1958-12-31", 65),  # 65 and over
        "E": ("2006-03-31", 18),  # 18 on the last day
        "F": ("2006-04-01", 17),
    }
    folder = tmp_path / "extract"
    crimes = [crime(f"C{p}", "2024-03-05") for p in births]
    persons = [person(p, birth_date=b) for p, (b, _) in births.items()]
    victims = [victim(f"C{p}", p) for p in births]
    write_extract(folder, crimes, persons, victims, [], as_of="2024-06-30")
    features = feature_table(load_history(folder, Policy()), [date(2024, 3, 1)])
    got = dict(zip(features["person_id"], features["age"], strict=True))
    assert got == {p: age for p, (_, age) in births.items()}
    bands = dict(zip(features["person_id"], features["age_band"], strict=True))
    assert (bands["D"], bands["E"], bands["F"]) == ("65+", "18-24", "under 18")
