"""Escalation within dyads on hand-made incidents: numbering, gaps, and the sign tests."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from chi.analysis.escalation import escalation, numbered_incidents, sign_test

START = date(2024, 1, 1)


def _links(dyads: dict[str, list[tuple[int, float]]]) -> pl.DataFrame:
    rows = []
    for dyad, incidents in dyads.items():
        for i, (day, harm) in enumerate(incidents):
            rows.append(
                {
                    "offender_id": f"O{dyad}",
                    "victim_id": f"V{dyad}",
                    "crime_id": f"{dyad}-{i}",
                    "recorded_date": START + timedelta(days=day),
                    "weight": harm,
                    "counted": True,
                }
            )
    return pl.DataFrame(rows)


def test_numbering_and_gaps() -> None:
    inc = numbered_incidents(_links({"a": [(0, 10.0), (30, 5.0), (40, 1.0)]}), date(2024, 12, 31))
    assert inc["incident"].to_list() == [1, 2, 3]
    assert inc["gap_days"].to_list() == [None, 30, 10]


def test_falling_severity_and_shortening_gaps() -> None:
    # Every dyad: 100 days then 10 then 1, gaps 50 then 20: harm falls, incidents come closer.
    dyads = {str(i): [(0, 100.0), (50, 10.0), (70, 1.0)] for i in range(12)}
    e = escalation(_links(dyads), START, date(2024, 12, 31), date(2024, 12, 31))
    assert (e.dyads, e.repeating_dyads) == (12, 12)
    assert e.severity.verdict == "falls" and (e.severity.rises, e.severity.falls) == (0, 24)
    assert e.frequency.verdict == "rises" and (e.frequency.rises, e.frequency.falls) == (12, 0)
    assert [s.incident for s in e.steps] == [1, 2, 3]
    assert e.steps[0].mean_harm == 100 and e.steps[1].median_gap_days == 50
    assert e.steps[0].lower == pytest.approx(100)  # no spread, no width


def test_sign_test_needs_evidence() -> None:
    assert sign_test(6, 4, 3).verdict == "no clear change"
    assert sign_test(0, 0, 5).p_value is None
    assert sign_test(15, 2, 0).verdict == "rises"
    assert sign_test(15, 2, 0).p_value == pytest.approx(0.002349, abs=1e-6)
