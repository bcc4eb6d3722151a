"""Home Office outcome types, their groups, and the one definition of "prosecution possible".

Boards ask one question of outcomes: of the crimes recorded, how many ended with the
offender identified and formally dealt with? This module answers it once for the profile,
the board table, the report and the app.

**Prosecution possible** = Home Office outcome types 1–4 and 6–8: charged or summonsed (1),
youth and adult cautions (2, 3), taken into consideration (4), penalty notice for disorder
(6), cannabis or khat warning (7) and community resolution (8). These are the outcomes in
which the offender was identified and the evidence was enough for a charge or a recognised
disposal: the old "sanction detection" set plus community resolutions. Type 5 (the
offender died) is left out, because no prosecution was possible; the Home Office counts it
among "prosecution prevented or not in the public interest". Diversion (22) is left out
because it is, by definition, a decision not to take formal action.

**Rate and its denominator**: crimes with a prosecution-possible outcome, divided by *all*
crimes recorded in the period, whether or not an outcome has been assigned yet (the Home
Office's convention for outcome rates). Recent crimes are often still open, so the rate
for the latest months understates the final one; the share still open is always reported
beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

PROSECUTION_POSSIBLE: frozenset[int] = frozenset({1, 2, 3, 4, 6, 7, 8})

OUTCOME_TYPES: dict[int, str] = {
    1: "Charged or summonsed",
    2: "Caution (youth)",
    3: "Caution (adult)",
    4: "Taken into consideration",
    5: "Offender died",
    6: "Penalty notice for disorder",
    7: "Cannabis or khat warning",
    8: "Community resolution",
    9: "Prosecution not in the public interest (CPS)",
    10: "Formal action not in the public interest (police)",
    11: "Prosecution prevented: suspect under age",
    12: "Prosecution prevented: suspect too ill",
    13: "Prosecution prevented: victim or key witness dead or too ill",
    14: "Evidential difficulties: suspect not identified, victim does not support action",
    15: "Evidential difficulties: suspect identified, victim supports action",
    16: "Evidential difficulties: victim does not support action",
    17: "Prosecution time limit expired",
    18: "Investigation complete: no suspect identified",
    19: "Outcome type 19",
    20: "Another body has investigative primacy",
    21: "Further investigation not in the public interest (police)",
    22: "Diversionary, educational or intervention activity",
}

OUTCOME_GROUPS: dict[str, frozenset[int]] = {
    "Charged or summonsed": frozenset({1}),
    "Taken into consideration": frozenset({4}),
    "Out-of-court (formal)": frozenset({2, 3, 6}),
    "Out-of-court (informal)": frozenset({7, 8}),
    "Diversion": frozenset({22}),
    "Prosecution prevented or not in the public interest": frozenset({5, 9, 10, 11, 12, 13, 17}),
    "Evidential difficulties: suspect not identified": frozenset({14}),
    "Evidential difficulties: suspect identified, victim supports action": frozenset({15}),
    "Evidential difficulties: victim does not support action": frozenset({16}),
    "Investigation complete: no suspect identified": frozenset({18}),
    "Further investigation not in the public interest": frozenset({21}),
    "Another body, or other": frozenset({19, 20}),
}
OPEN = "Not yet assigned (open)"


def group_expr(column: str = "outcome_code") -> pl.Expr:
    """The outcome group (a key of ``OUTCOME_GROUPS``, or ``OPEN``) of a column of outcome codes."""
    mapping = {c: name for name, codes in OUTCOME_GROUPS.items() for c in codes}
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit(OPEN))
        .otherwise(
            pl.col(column).replace_strict(
                mapping, default="Another body, or other", return_dtype=pl.String
            )
        )
    )


@dataclass(frozen=True)
class OutcomeRate:
    crimes: int
    prosecution_possible: int
    rate: float | None
    open: int
    open_share: float | None


def prosecution_possible_rate(outcome_codes: pl.Series) -> OutcomeRate:
    """The rate over every crime given (one outcome code per crime, null = open)."""
    n = outcome_codes.len()
    pp = int(outcome_codes.is_in(sorted(PROSECUTION_POSSIBLE)).fill_null(False).sum())
    still_open = int(outcome_codes.is_null().sum())
    return OutcomeRate(
        crimes=n,
        prosecution_possible=pp,
        rate=pp / n if n else None,
        open=still_open,
        open_share=still_open / n if n else None,
    )
