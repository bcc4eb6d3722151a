"""Calibration: the generated demo extract meets every band, and the measures themselves
are right on small cases worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from factory import ABH, GBH_S20, SHOPLIFTING, crime, person, suspect, victim, write_extract

from chi.calibrate import (
    BandResult,
    concentration,
    hazard_ratio,
    measure_bands,
    no_repeat_share,
    repeat_harm_share,
    rise_fall_ratio,
)
from chi.generate.sources import load_sources


def _band_names() -> list[str]:
    src = load_sources()
    return [
        "volume: recorded crimes a month",
        "seasonality: May–June vs December–January",
        *(f"category share: {c}" for c in src.categories),
        "no location or outside the force",
        *(f"district share: {d}" for d in src.districts),
        "crime in the top 10% of LSOAs",
        "domestic abuse share of crime",
        "victims suffering 85% of harm",
        "harm against repeat victims",
        "DA dyads with no repeat within 12 months",
        "DA dyads holding 80% of DA harm",
        "IPV perpetrators with no further DA crime in 24 months",
        "serial DA perpetrators (2+ victims)",
        "severity across a dyad's incidents",
        "repeat hazard: 0–30 days vs 180–365 days",
        "violence victims also suspects",
        "crimes with a named suspect",
        "crimes charged",
        "organisation victims of shoplifting",
        "organisation victims of business burglary",
        "crimes with more than one victim",
    ]


@pytest.fixture(scope="module")
def bands(generated_extract: Path) -> dict[str, BandResult]:
    return {b.name: b for b in measure_bands(generated_extract)}


def test_every_band_is_reported(bands: dict[str, BandResult]) -> None:
    assert sorted(bands) == sorted(_band_names())


@pytest.mark.parametrize("name", _band_names())
def test_generated_extract_meets_band(bands: dict[str, BandResult], name: str) -> None:
    band = bands[name]
    assert band.met, f"{name}: measured {band.measured}, target {band.target}"
    assert not math.isnan(band.value), f"{name} was not measurable on 24 months"


def test_band_row_for_the_command_line() -> None:
    row = BandResult("x", "1-2%", "3.0%", 0.03, False).as_row()
    assert row == {"band": "x", "target": "1-2%", "measured": "3.0%", "met": "NO"}


# --- measures on cases worked out by hand --------------------------------------------------


def test_concentration_counts_the_fewest_units_holding_the_share() -> None:
    harm = pl.Series([5.0, 100.0, 10.0, 30.0, 50.0, 5.0])
    # 200 in all: 100 + 50 = 150 < 170 <= 100 + 50 + 30 = 180, so 3 of 6.
    assert concentration(harm, 0.85) == 0.5
    assert concentration(harm, 0.5) == 1 / 6
    assert math.isnan(concentration(pl.Series([], dtype=pl.Float64), 0.85))


def test_repeat_harm_share() -> None:
    people = pl.DataFrame({"harm": [547.5, 20.0, 1.0, 10.0], "crimes": [1, 2, 1, 1]})
    assert repeat_harm_share(people) == pytest.approx(20 / 578.5)


def _events(rows: list[tuple[str, str, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "perpetrator": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "crime_id": [r[2] for r in rows],
            "recorded_date": [dt.date.fromisoformat(r[3]) for r in rows],
            "weight": [r[4] for r in rows],
        }
    )


def test_no_repeat_share_follows_each_dyad_from_its_first_crime() -> None:
    events = _events(
        [
            ("X", "V1", "C1", "2023-01-10", 10),
            ("X", "V1", "C2", "2023-03-01", 1),  # repeat within 12 months
            ("Y", "V2", "C3", "2023-01-20", 10),  # never again
            ("Z", "V3", "C4", "2023-01-05", 1),
            ("Z", "V3", "C5", "2024-02-01", 1),  # again, but after 12 months
            ("W", "V4", "C6", "2023-06-01", 1),  # first seen too late to follow for a year
        ]
    )
    share = no_repeat_share(events, ["perpetrator", "person_id"], 365, dt.date(2023, 3, 1))
    assert share == pytest.approx(2 / 3)


def test_rise_fall_ratio_over_successive_incidents() -> None:
    events = _events(
        [
            ("X", "V1", "C1", "2023-01-10", 10),
            ("X", "V1", "C2", "2023-02-01", 1),  # falls
            ("X", "V1", "C3", "2023-03-01", 1),  # flat
            ("X", "V1", "C4", "2023-04-01", 84),  # rises
            ("Y", "V2", "C5", "2023-01-01", 1825),
            ("Y", "V2", "C6", "2023-01-02", 10),  # falls
        ]
    )
    assert rise_fall_ratio(events, ["perpetrator", "person_id"]) == (0.5, 1, 2)


def test_hazard_ratio_is_events_over_days_at_risk() -> None:
    rows = pl.DataFrame(
        {
            "person_id": ["A", "A", "B"],
            "crime_id": ["1", "2", "3"],
            "recorded_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 11), dt.date(2024, 1, 1)],
        }
    )
    as_of = dt.date(2024, 12, 31)
    # At risk on days 0..9: A's first (10 days, then its repeat on day 10) and B (10 days);
    # A's second and B stay at risk all year with no event.
    ratio, early, late = hazard_ratio(rows, as_of, (0, 10), (100, 200))
    assert early == pytest.approx(0 / 30)
    ratio, early, late = hazard_ratio(rows, as_of, (0, 11), (100, 200))
    # Days 0..10: A's first is at risk 11 days and has its event on day 10; B and A's
    # second are at risk 11 days each.
    assert early == pytest.approx(1 / 33)
    assert late == 0
    assert math.isnan(ratio)


# --- measure_bands on tiny hand-made extracts ----------------------------------------------


def test_harm_bands_on_a_hand_made_year(tmp_path: Path) -> None:
    crimes = [
        crime("C1", "2024-02-01", offence_code=GBH_S20),
        crime("C2", "2024-03-01", offence_code=ABH),
        crime("C3", "2024-03-10", offence_code=ABH),
        crime("C4", "2024-04-01", offence_code=SHOPLIFTING),
        crime("C5", "2024-05-01", offence_code=ABH),
        crime("C6", "2024-05-02", offence_code=SHOPLIFTING),
    ]
    persons = [
        person("A"),
        person("B"),
        person("C"),
        person("D"),
        person("Shop", person_type="organisation"),
    ]
    victims = [
        victim("C1", "A"),
        victim("C2", "B"),
        victim("C3", "B"),
        victim("C4", "C"),
        victim("C5", "D"),
        victim("C6", "Shop"),
    ]
    folder = write_extract(tmp_path / "x", crimes, persons, victims)
    bands = {b.name: b for b in measure_bands(folder)}
    # 547.5 + 10 + 10 + 1 + 10 = 578.5 over four people; A alone holds 85% of it.
    assert bands["victims suffering 85% of harm"].value == pytest.approx(0.25)
    assert bands["harm against repeat victims"].value == pytest.approx(20 / 578.5)
    assert bands["organisation victims of shoplifting"].value == pytest.approx(0.5)
    assert bands["crimes with more than one victim"].value == 0


def test_dyad_bands_on_a_hand_made_extract(tmp_path: Path) -> None:
    def da(crime_id: str, day: str, relationship: str = "intimate_partner") -> dict[str, object]:
        return crime(crime_id, day, domestic_abuse=True, da_relationship=relationship)

    crimes = [
        da("D1", "2023-01-10"),
        da("D2", "2023-03-01"),
        da("D3", "2023-01-20"),
        da("D4", "2023-01-05"),
        da("D5", "2024-02-01"),
        da("D6", "2023-06-01"),
        da("D7", "2023-07-01", "family"),
    ]
    people = ["V1", "V2", "V3", "V4", "V5", "X", "Y", "Z", "W"]
    pairs = [
        ("D1", "X", "V1"),
        ("D2", "X", "V1"),
        ("D3", "Y", "V2"),
        ("D4", "Z", "V3"),
        ("D5", "Z", "V3"),
        ("D6", "W", "V4"),
        ("D7", "W", "V5"),
    ]
    folder = write_extract(
        tmp_path / "x",
        crimes,
        [person(p) for p in people],
        [victim(c, v, "standard") for c, _, v in pairs],
        [suspect(c, s) for c, s, _ in pairs],
        as_of="2024-02-29",
    )
    bands = {b.name: b for b in measure_bands(folder)}
    assert bands["DA dyads with no repeat within 12 months"].value == pytest.approx(2 / 3)
    # W has two victims; X, Y and Z one each.
    assert bands["serial DA perpetrators (2+ victims)"].value == pytest.approx(1 / 4)
    no_follow_up = bands["IPV perpetrators with no further DA crime in 24 months"]
    assert no_follow_up.met and "not measurable" in no_follow_up.measured


def test_ipv_perpetrators_followed_for_24_months(tmp_path: Path) -> None:
    def da(crime_id: str, day: str, relationship: str = "intimate_partner") -> dict[str, object]:
        return crime(crime_id, day, domestic_abuse=True, da_relationship=relationship)

    rows = [
        # (crime, date, relationship, perpetrator, victim)
        ("A1", "2023-01-05", "intimate_partner", "P1", "V1"),
        ("A2", "2024-06-01", "family", "P1", "V9"),  # any further DA crime counts
        ("B1", "2023-01-10", "ex_partner", "P2", "V2"),  # never again
        ("C1", "2023-01-03", "family", "P3", "V3"),  # first DA crime not against a partner
        ("C2", "2023-01-20", "intimate_partner", "P3", "V4"),
        ("D1", "2023-03-01", "intimate_partner", "P4", "V5"),  # first seen after January
        ("E1", "2024-12-20", "intimate_partner", "P5", "V6"),
    ]
    people = sorted({r[3] for r in rows} | {r[4] for r in rows})
    folder = write_extract(
        tmp_path / "x",
        [da(c, d, rel) for c, d, rel, _, _ in rows],
        [person(p) for p in people],
        [victim(c, v, "standard") for c, _, _, _, v in rows],
        [suspect(c, s) for c, _, _, s, _ in rows],
    )
    bands = {b.name: b for b in measure_bands(folder)}
    assert bands["IPV perpetrators with no further DA crime in 24 months"].value == 0.5
