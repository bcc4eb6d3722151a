"""Calibration: the generated demo extract meets every band, and the measures themselves
are right on small cases worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from factory import ABH, GBH_S20, SHOPLIFTING, crime, person, suspect, victim, write_extract

from chi.generate import GenerateOptions, generate_extract
from chi.generate.calibrate import (
    BandResult,
    Years,
    concentration,
    hazard_ratio,
    later_harm_ratio,
    measure_bands,
    no_repeat_share,
    repeat_by_prior,
    repeat_gaps,
    repeat_harm_share,
    rise_fall_ratio,
    top_persistence,
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
        "repeat chance rising with prior victimisations",
        "repeat chance after one victimisation",
        "repeat chance after 5–9 victimisations",
        "top 1% of victims by harm again top 1% next year",
        "later DA harm: top fifth vs bottom fifth of DA harm",
        "DA repeats within 30 days",
        "DA repeats after 90 days",
        "DA victims also DA suspects (counter-allegations)",
        "DA victims with 2+ DA suspects",
        "DA victimisations without a DASH grade",
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


# --- victim histories over time -------------------------------------------------------------

YEARS = Years(dt.date(2023, 1, 1), dt.date(2023, 12, 31), dt.date(2024, 12, 31))


def _history(rows: Sequence[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "crime_id": [f"C{i}" for i in range(len(rows))],
            "recorded_date": [dt.date.fromisoformat(r[1]) for r in rows],
            "weight": [float(r[2]) for r in rows],
        }
    )


def test_repeat_by_prior_groups_the_year_before_and_looks_at_the_year_after() -> None:
    rows = [
        ("A", "2023-02-01", 1),  # one prior, again in 2024
        ("A", "2024-03-01", 1),
        ("B", "2023-05-01", 1),  # one prior, never again
        ("B", "2025-02-01", 1),  # after the follow-up year: does not count
        ("C", "2022-12-31", 1),  # before the year: not a prior
        ("C", "2023-06-01", 1),
        ("C", "2023-06-02", 1),  # two priors, not again
        *((("D", f"2023-{m:02d}-01", 1.0)) for m in range(1, 11)),  # ten priors
        ("D", "2024-01-01", 1),
        ("E", "2024-06-01", 1),  # no prior: in no group
    ]
    table = repeat_by_prior(_history(rows), YEARS)
    got = {r["group"]: (r["people"], r["share"]) for r in table.iter_rows(named=True)}
    assert got["1"] == (2, 0.5)
    assert got["2"] == (1, 0.0)
    assert got["10+"] == (1, 1.0)
    assert got["3"][0] == 0 and math.isnan(got["3"][1])


def test_top_persistence_compares_the_top_share_of_each_year() -> None:
    # 200 victims each year; the top 1% is 2 people. A is top in both years, B only before.
    rows = [(f"P{i:03d}", "2023-03-01", 1.0) for i in range(198)]
    rows += [("A", "2023-04-01", 500), ("B", "2023-04-01", 400)]
    rows += [(f"P{i:03d}", "2024-03-01", 1.0) for i in range(197)]
    rows += [("A", "2024-04-01", 300), ("B", "2024-04-01", 0.5), ("Z", "2024-05-01", 900)]
    assert top_persistence(_history(rows), YEARS) == 0.5


def test_later_harm_ratio_of_the_top_and_bottom_fifths() -> None:
    # Five DA victims: the top fifth (A, 100 days before) has 30 later, the bottom fifth
    # (E, 1 day) has 10 later.
    rows = [
        ("A", "2023-02-01", 100),
        ("B", "2023-02-01", 50),
        ("C", "2023-02-01", 20),
        ("D", "2023-02-01", 10),
        ("E", "2023-02-01", 1),
        ("A", "2024-02-01", 30),
        ("E", "2024-02-01", 10),
        ("C", "2024-02-01", 99),
    ]
    assert later_harm_ratio(_history(rows), YEARS) == (3.0, 30.0, 10.0)


def test_repeat_gaps_within_a_year_of_the_last() -> None:
    events = _events(
        [
            ("X", "V1", "C1", "2023-01-01", 1),
            ("X", "V1", "C2", "2023-01-11", 1),  # 10 days
            ("X", "V1", "C3", "2023-05-11", 1),  # 120 days
            ("X", "V1", "C4", "2024-12-01", 1),  # 570 days: a new episode, not a repeat
            ("Y", "V1", "C5", "2023-01-12", 1),  # another dyad: its first
        ]
    )
    gaps = repeat_gaps(events, ["perpetrator", "person_id"])
    assert sorted(gaps.to_list()) == [10, 120]


def test_counter_allegations_several_suspects_and_missing_dash(tmp_path: Path) -> None:
    def da(crime_id: str, day: str) -> dict[str, object]:
        return crime(crime_id, day, domestic_abuse=True, da_relationship="intimate_partner")

    rows = [
        # (crime, date, suspect, victim, dash)
        ("D1", "2024-01-10", "X", "V1", "standard"),
        ("D2", "2024-02-10", "V1", "X", None),  # counter-allegation: V1 and X both ways
        ("D3", "2024-03-10", "Y", "V2", "medium"),
        ("D4", "2024-04-10", "Z", "V2", None),  # V2 has a second suspect
        ("D5", "2024-05-10", "W", "V3", "high"),
    ]
    people = sorted({r[2] for r in rows} | {r[3] for r in rows})
    folder = write_extract(
        tmp_path / "x",
        [da(c, d) for c, d, *_ in rows],
        [person(p) for p in people],
        [victim(c, v, dash) for c, _, _, v, dash in rows],
        [suspect(c, s) for c, _, s, _, _ in rows],
    )
    bands = {b.name: b for b in measure_bands(folder)}
    # DA victims: V1, X, V2, V3; V1 and X are also DA suspects.
    assert bands["DA victims also DA suspects (counter-allegations)"].value == 0.5
    # Suspects per victim: V1 {X}, X {V1}, V2 {Y, Z}, V3 {W}.
    assert bands["DA victims with 2+ DA suspects"].value == 0.25
    assert bands["DA victimisations without a DASH grade"].value == pytest.approx(2 / 5)
    assert "not measurable" in bands["repeat chance after one victimisation"].measured


@pytest.mark.parametrize(("seed", "months", "start"), [(3, 36, "2022-01"), (12, 24, "2024-03")])
def test_other_seeds_meet_every_band(tmp_path: Path, seed: int, months: int, start: str) -> None:
    out = tmp_path / "extract"
    generate_extract(out, GenerateOptions(seed=seed, start=start, months=months))
    missed = [
        f"{b.name}: {b.measured} (target {b.target})" for b in measure_bands(out) if not b.met
    ]
    assert missed == []
