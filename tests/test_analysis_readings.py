"""Readings are generated from the figures: change the numbers and the sentence changes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from factory import HOME_A, MURDER, SHOPLIFTING, crime, person, suspect, victim, write_extract

from chi.analysis.board import board_table
from chi.analysis.concentration import concentration
from chi.analysis.escalation import Escalation, sign_test
from chi.analysis.profile import Request, build_profile
from chi.analysis.readings import (
    board_line,
    concentration_line,
    escalation_line,
    lorenz_line,
    period_words,
    survival_line,
)
from chi.analysis.repeats import repeats
from chi.analysis.source import load_extract


def test_concentration_sentence_follows_the_numbers() -> None:
    one_murder = concentration("da_victims", "harm", [5475.0, *[1.0] * 99])
    spread = concentration("da_victims", "harm", [10.0] * 50 + [5.0] * 50)
    a, b = concentration_line(one_murder), concentration_line(spread)
    assert a != b
    assert a.startswith("1.0% of DA victims (1 of 100) hold 85% of DA harm")
    assert "the top 1% hold 98.2%" in a
    assert b.endswith("(Gini 0.17).")  # mean |x - y| = 2.5 over twice the mean, 15
    counts = concentration("da_victims", "count", [1] * 100)
    assert "more concentrated than" in lorenz_line(one_murder, counts)
    assert "about as concentrated as" in lorenz_line(counts, counts)


def _escalation(rises: int, falls: int) -> Escalation:
    return Escalation(
        dyads=100,
        repeating_dyads=40,
        steps=[],
        severity=sign_test(rises, falls, 0),
        frequency=sign_test(10, 10, 0),
    )


def test_escalation_sentence_says_plainly_which_way() -> None:
    assert "severity falls" in escalation_line(_escalation(5, 40))
    assert "severity rises" in escalation_line(_escalation(40, 5))
    assert "no clear change" in escalation_line(_escalation(20, 21))
    assert "gaps between incidents show no clear change" in escalation_line(_escalation(5, 40))


def test_board_sentence_names_the_rows_that_moved() -> None:
    import polars as pl

    def table(this_month: int) -> str:
        rows = [
            {
                "crime_id": f"C{m}-{i}",
                "recorded_date": date(2023 + (m // 12), m % 12 + 1, 1),
                "offence_code": "8N.8.6.0",
                "ho_class": None,
                "domestic_abuse": True,
                "outcome_code": None,
            }
            for m in range(13)
            for i in range(this_month if m == 12 else 10)
        ]
        return board_line(board_table(pl.DataFrame(rows), date(2024, 1, 1), date(2023, 1, 1), "t"))

    high, same, low = table(20), table(11), table(2)
    assert high.startswith("In January 2024, domestic abuse (20 against an average of 10.0)")
    assert "was higher than the 1-year monthly average" in high
    assert "lower than" in low and "(2 against" in low
    assert same == "In January 2024, every row was comparable with its 1-year monthly average."


def test_period_words() -> None:
    assert period_words("2024-01", "2024-12") == "January to December 2024"
    assert period_words("2023-04", "2024-03") == "April 2023 to March 2024"
    assert period_words("2024-06", "2024-06") == "June 2024"


@pytest.fixture(scope="module")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two DA dyads and a shoplifting victim over 2024: one dyad repeats within days."""
    folder = tmp_path_factory.mktemp("small")
    crimes = [
        crime(
            "D1",
            "2024-02-01",
            domestic_abuse=True,
            da_relationship="intimate_partner",
            outcome_code=1,
        ),
        crime(
            "D2",
            "2024-02-05",
            domestic_abuse=True,
            da_relationship="intimate_partner",
            outcome_code=16,
        ),
        crime(
            "D3", "2024-06-01", offence_code=MURDER, domestic_abuse=True, da_relationship="family"
        ),
        crime("S1", "2024-03-01", offence_code=SHOPLIFTING),
    ]
    persons = [person(p, home_lsoa_code=HOME_A) for p in ("V1", "V2", "V3", "O1", "O2")]
    victims = [
        victim("D1", "V1", "high"),
        victim("D2", "V1", "high"),
        victim("D3", "V2"),
        victim("S1", "V3"),
    ]
    suspects = [suspect("D1", "O1", "charged"), suspect("D2", "O1"), suspect("D3", "O2")]
    return write_extract(folder, crimes, persons, victims, suspects, as_of="2024-12-31")


def test_profile_readings_on_a_small_extract(small_extract: Path) -> None:
    source = load_extract(small_extract)
    p = build_profile(source, Request.for_period("2024-01:2024-12"))
    r = p.readings
    assert r["headline"] == (
        "In January to December 2024 (force-wide), 3 domestic abuse crimes were recorded "
        "against 2 victims by 2 known perpetrators, 5,495 days of harm."
    )
    assert r["repeat_rate"].startswith("50.0% of DA victims (1 of 2) had two or more crimes")
    assert r["outcomes"].startswith(
        "33.3% of DA crimes had a prosecution-possible outcome (1 of 3)"
    )
    assert r["survival"].startswith("50.0% of DA victims had another DA crime within 30 days")
    assert p.serial["perpetrators"] == 2 and p.serial["serial"] == 0
    half_year = build_profile(source, Request.for_period("2024-01:2024-03"))
    assert half_year.readings["headline"] != r["headline"]
    assert "2 domestic abuse crimes" in half_year.readings["headline"]
    with pytest.raises(ValueError, match="as-of"):
        build_profile(source, Request.for_period("2024-06:2025-01"))


def test_survival_sentence_when_follow_up_is_short(small_extract: Path) -> None:
    source = load_extract(small_extract)
    events = source.victimisations.filter(source.victimisations["domestic_abuse"]).select(
        unit="person_id", recorded_date="recorded_date", crime_id="crime_id", harm="weight"
    )
    r = repeats("da_victims", events, date(2024, 11, 1), date(2024, 12, 31), date(2024, 12, 31))
    assert survival_line(r) == "No DA victims to follow up."


def test_docs_carry_the_report_method_notes_unchanged() -> None:
    from chi.analysis.report import method_notes

    docs = (Path(__file__).resolve().parent.parent / "docs" / "analysis.md").read_text("utf-8")
    begin, end = "<!-- method notes: begin -->\n", "<!-- method notes: end -->"
    assert docs[docs.index(begin) + len(begin) : docs.index(end)] == method_notes()
