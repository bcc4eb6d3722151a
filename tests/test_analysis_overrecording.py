"""Over-recording: likely duplicate recordings on hand-made crimes, and precision/recall."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from chi.analysis.overrecording import likely_duplicates, over_recording, precision_recall

DAY0 = date(2024, 3, 1)


def _frames(
    rows: list[tuple[str, str, str, str, int, float]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(crime, victim, suspect, offence group, day, weight) -> victimisations, suspects."""
    v = pl.DataFrame(
        {
            "crime_id": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "offence_group": [r[3] for r in rows],
            "recorded_date": [DAY0 + timedelta(days=r[4]) for r in rows],
            "weight": [r[5] for r in rows],
        }
    )
    s = pl.DataFrame({"crime_id": [r[0] for r in rows], "person_id": [r[2] for r in rows]})
    return v, s


ROWS = [
    ("C1", "V1", "S1", "8L", 1, 2.0),
    ("C2", "V1", "S1", "8L", 4, 2.0),  # 3 days after C1: duplicate of C1
    ("C3", "V1", "S1", "8L", 20, 2.0),  # 16 days after C2: a new course of conduct
    ("C8", "V1", "S1", "8L", 21, 2.0),  # 1 day after C3: duplicate of C3
    ("C4", "V1", "S2", "8L", 5, 2.0),  # another suspect
    ("C5", "V2", "S1", "8Q", 2, 10.0),
    ("C6", "V2", "S1", "8L", 3, 2.0),  # another offence group
    ("C7", "V1", "S1", "8N", 2, 10.0),  # not stalking or harassment
    ("C9", "V3", "S3", "8Q", 30, 10.0),
    ("C0", "V3", "S3", "8Q", 30, 10.0),  # same day: the later reference is the duplicate
]


def test_likely_duplicates_by_hand() -> None:
    v, s = _frames(ROWS)
    dups = likely_duplicates(v, s, within_days=7)
    assert dups.rows() == [("C2", "C1"), ("C8", "C3"), ("C9", "C0")]
    assert likely_duplicates(v, s, within_days=0).rows() == [("C9", "C0")]
    wide = likely_duplicates(v, s, within_days=30)
    assert ("C3", "C1") in wide.rows() and ("C8", "C1") in wide.rows()
    everything = likely_duplicates(v, s, within_days=7, groups=None)
    assert everything.height == 3  # 8N C7 has no earlier 8N crime
    with pytest.raises(ValueError):
        likely_duplicates(v, s, within_days=-1)


def test_over_recording_figures_and_truth() -> None:
    v, s = _frames(ROWS)
    scope = v.select("crime_id", "recorded_date").unique()
    truth = pl.DataFrame({"duplicate_crime_id": ["C2", "C4"], "original_crime_id": ["C1", "C1"]})
    o = over_recording(v, s, scope, DAY0, DAY0 + timedelta(days=40), 7, truth=truth)
    assert (o.crimes_audited, o.flagged) == (9, 3)
    assert o.flagged_share == pytest.approx(3 / 9)
    assert o.harm_added == pytest.approx(2 + 2 + 10)
    assert o.harm_share == pytest.approx(14 / 42)  # 8L 2 days x 6, 8Q 10 days x 3
    assert (o.truth_duplicates, o.true_positives) == (2, 1)
    assert o.precision == pytest.approx(1 / 3) and o.recall == pytest.approx(1 / 2)


def test_precision_recall() -> None:
    tp, precision, recall = precision_recall({"a", "b"}, {"b", "c", "d"})
    assert (tp, precision) == (1, 0.5) and recall == pytest.approx(1 / 3)
    assert precision_recall(set(), set()) == (0, None, None)
