"""Over-recording: the same course of conduct recorded as more than one crime.

A stalking or harassment course of conduct is one crime, but a new call about the same
conduct is easily recorded as another; audits of stalking and harassment recording find
such duplicates, and each one adds a crime and its harm to a victim's count. Repeat
victimisation figures and harm lists are only as good as the recording, so the profile
counts the likely duplicates and the harm they would add.

Decisions:

- A crime is a **likely duplicate** when an earlier recorded crime has the same victim, the
  same suspect, the same offence group (the offence code before its first ``.``, e.g.
  ``8L``) and was recorded at most ``within_days`` days before it (default 7; same day:
  the later crime reference). A run of such crimes is one course of conduct; its first crime
  is the original.
- By default only the stalking and harassment groups are audited (8L harassment, 8M
  racially or religiously aggravated harassment, 8Q stalking, 8R malicious communications),
  as in an audit; any groups, or all, can be chosen.
- Flags are counted for crimes recorded in the period within the scope; their originals
  may be earlier. "Harm they would add" is the weight of every victimisation of a flagged
  crime. This is a screen for an auditor, not a correction: the figures elsewhere are not
  adjusted.
- On a generated demo extract, the flags are checked against the generator's truth file
  (precision: flagged that are true duplicates; recall: true duplicates that are flagged).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

STALKING_HARASSMENT: tuple[str, ...] = ("8L", "8M", "8Q", "8R")
DEFAULT_WITHIN_DAYS = 7


@dataclass(frozen=True)
class OverRecording:
    within_days: int
    groups: list[str] | None
    """Offence groups audited; None = every group."""
    crimes_audited: int
    flagged: int
    flagged_share: float | None
    harm_added: float
    harm_share: float | None
    """Harm of flagged crimes over the harm of every audited crime."""
    truth_duplicates: int | None
    true_positives: int | None
    precision: float | None
    recall: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def likely_duplicates(
    victimisations: pl.DataFrame,
    suspects: pl.DataFrame,
    within_days: int = DEFAULT_WITHIN_DAYS,
    groups: Iterable[str] | None = STALKING_HARASSMENT,
) -> pl.DataFrame:
    """``crime_id`` of each likely duplicate with the ``original_crime_id`` of its course
    of conduct, over the whole of the frames given."""
    if within_days < 0:
        raise ValueError("within_days must be zero or more")
    v = victimisations.select(
        "crime_id", victim="person_id", recorded_date="recorded_date", group="offence_group"
    )
    if groups is not None:
        v = v.filter(pl.col("group").is_in(list(groups)))
    links = (
        v.join(suspects.select("crime_id", suspect="person_id"), on="crime_id")
        .filter(pl.col("victim") != pl.col("suspect"))
        .unique()
        .sort("victim", "suspect", "group", "recorded_date", "crime_id")
    )
    key = ["victim", "suspect", "group"]
    links = links.with_columns(
        gap=(pl.col("recorded_date") - pl.col("recorded_date").shift(1)).dt.total_days().over(key)
    ).with_columns(
        is_dup=pl.col("gap").is_not_null() & (pl.col("gap") <= within_days),
    )
    links = links.with_columns(
        course=(~pl.col("is_dup")).cast(pl.Int64).cum_sum().over(key),
    ).with_columns(
        original=pl.col("crime_id").first().over([*key, "course"]),
        original_date=pl.col("recorded_date").first().over([*key, "course"]),
    )
    return (
        links.filter(pl.col("is_dup"))
        .sort("crime_id", "original_date", "original")
        .group_by("crime_id", maintain_order=True)
        .agg(original_crime_id=pl.col("original").first())
        .filter(pl.col("crime_id") != pl.col("original_crime_id"))
        .sort("crime_id")
    )


def precision_recall(flagged: set[str], truth: set[str]) -> tuple[int, float | None, float | None]:
    """(true positives, precision, recall) of flagged crime ids against true ones."""
    tp = len(flagged & truth)
    precision = tp / len(flagged) if flagged else None
    recall = tp / len(truth) if truth else None
    return tp, precision, recall


def over_recording(
    victimisations: pl.DataFrame,
    suspects: pl.DataFrame,
    in_scope: pl.DataFrame,
    start: date,
    end: date,
    within_days: int = DEFAULT_WITHIN_DAYS,
    groups: Iterable[str] | None = STALKING_HARASSMENT,
    truth: pl.DataFrame | None = None,
) -> OverRecording:
    """Likely duplicates among crimes recorded in ``start..end`` whose ids are in
    ``in_scope`` (``crime_id``); ``truth``: the generator's duplicates file, if any."""
    group_list = list(groups) if groups is not None else None
    dups = likely_duplicates(victimisations, suspects, within_days, group_list)
    period = in_scope.filter(pl.col("recorded_date").is_between(start, end)).select("crime_id")
    audited_v = victimisations.join(period, on="crime_id", how="semi")
    if group_list is not None:
        audited_v = audited_v.filter(pl.col("offence_group").is_in(group_list))
    audited = audited_v.select("crime_id").unique()
    flagged = dups.join(audited, on="crime_id", how="semi")
    flagged_v = audited_v.join(flagged, on="crime_id", how="semi")
    harm_all = float(audited_v["weight"].fill_null(0).sum()) if audited_v.height else 0.0
    harm_added = float(flagged_v["weight"].fill_null(0).sum()) if flagged_v.height else 0.0
    tp = precision = recall = truth_n = None
    if truth is not None:
        true_ids = (
            truth.select(crime_id=pl.col("duplicate_crime_id"))
            .join(period, on="crime_id", how="semi")
            .join(victimisations.select("crime_id").unique(), on="crime_id", how="semi")
        )
        if group_list is not None:
            true_ids = true_ids.join(audited, on="crime_id", how="semi")
        truth_set = set(true_ids["crime_id"].to_list())
        truth_n = len(truth_set)
        tp, precision, recall = precision_recall(set(flagged["crime_id"].to_list()), truth_set)
    return OverRecording(
        within_days=within_days,
        groups=group_list,
        crimes_audited=audited.height,
        flagged=flagged.height,
        flagged_share=flagged.height / audited.height if audited.height else None,
        harm_added=harm_added,
        harm_share=harm_added / harm_all if harm_all > 0 else None,
        truth_duplicates=truth_n,
        true_positives=tp,
        precision=precision,
        recall=recall,
    )
