"""The board's "Safeguarding the Vulnerable" table for a month.

The monthly board report asks the same questions of a few offence groups every month: how
many were recorded this month, how that compares with the same month in earlier years and
with the recent monthly average, where the rolling year stands against last year's
baseline, and how many ended in a prosecution-possible outcome. This module decides what
each row counts and how "Higher / Comparable / Lower" is judged, so that the app, the report
and the JSON say the same.

Decisions:

- **Counts** are recorded crimes (``status = 'recorded'``, each crime once however many
  victims) by the calendar month of ``recorded_date``, where the crime happened within the
  scope. Historic offences count: the board counts recorded crime, not list harm.
- **Rows**: domestic abuse is the DA flag on any offence; the others are the named offence
  groups of ``chi.offences`` (child sexual abuse and exploitation, serious sexual offences,
  rape, modern slavery and human trafficking, fraud), whose Home Office codes are documented
  there, once, for the board and for masking alike. A crime can sit in more than one row (a
  rape of a child is in rape, serious sexual offences and CSAE). Fraud is shown only when
  the extract holds any.
- **Comparison with an average**: this month's count ``x`` against the mean ``μ`` of the 12
  (or 36) months before it, by a two-sided exact Poisson test of ``x`` with ``μ`` taken as the
  known rate (p = the total probability of every count no more likely than ``x``, as R's
  ``poisson.test``); p < 0.05 is "Higher" or "Lower", otherwise "Comparable". An average
  needs every one of its months inside the extract; otherwise the cell says so
  ("n/a (needs 36 months)").
- **Rolling 12 months**: the 12 months ending with this month. **Baseline**: the 12 months
  ending with the previous year-end (March by default, the police financial year; the
  year-end month is a parameter), i.e. the last completed year before this month.
- **Prosecution-possible rate**: of the crimes recorded in the rolling 12 months, the share
  with a prosecution-possible outcome by the as-of date (``chi.analysis.outcomes``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from scipy import special

from chi.analysis.outcomes import OutcomeRate, prosecution_possible_rate
from chi.months import add_months, month_label
from chi.offences import GROUPS, in_group, resolve

SIGNIFICANCE = 0.05
TEST_NOTE = (
    "Higher / Comparable / Lower: this month's count against the average of the 12 (or 36) "
    "months before it, by a two-sided exact Poisson test with the average as the rate, at the "
    "5% level."
)


@dataclass(frozen=True)
class BoardGroup:
    """A row of the board table: the DA flag, or a named offence group of
    ``chi.offences`` (where the Home Office codes of each are documented)."""

    name: str
    label: str
    only_where_present: bool = False

    @property
    def domestic_abuse(self) -> bool:
        return self.name == "domestic_abuse"

    @property
    def description(self) -> str:
        if self.domestic_abuse:
            return "Every recorded crime flagged as domestic abuse, whatever the offence."
        return GROUPS[self.name].description


BOARD_GROUPS: tuple[BoardGroup, ...] = (
    BoardGroup("domestic_abuse", "Domestic abuse"),
    BoardGroup("child_sexual_abuse_exploitation", "Child sexual abuse and exploitation"),
    BoardGroup("serious_sexual_offences", "Serious sexual offences"),
    BoardGroup("rape", "Rape"),
    BoardGroup("modern_slavery_trafficking", "Modern slavery and human trafficking"),
    BoardGroup("fraud", "Fraud", only_where_present=True),
)
resolve(g.name for g in BOARD_GROUPS if not g.domestic_abuse)  # each row is a known group


def group_masks(crimes: pl.DataFrame, groups: Iterable[BoardGroup]) -> pl.DataFrame:
    """Which of ``crimes`` (with ``offence_code``, ``ho_class``, ``domestic_abuse``) each
    row of ``groups`` counts: one Boolean column per group, named for it. Each distinct
    (offence code, class) pair is looked up in the registry once for every group."""
    groups = list(groups)
    pairs = crimes.select("offence_code", "ho_class").unique()
    offence_rows = [g for g in groups if not g.domestic_abuse]
    hits = pairs.with_columns(
        pl.Series(
            g.name,
            [in_group(GROUPS[g.name], c, h) for c, h in pairs.iter_rows()],
            dtype=pl.Boolean,
        )
        for g in offence_rows
    )
    joined = crimes.select("offence_code", "ho_class").join(
        hits, on=["offence_code", "ho_class"], how="left", nulls_equal=True, maintain_order="left"
    )
    return pl.DataFrame(
        [
            (crimes["domestic_abuse"] if g.domestic_abuse else joined[g.name])
            .fill_null(False)
            .alias(g.name)
            for g in groups
        ]
    )


def group_mask(crimes: pl.DataFrame, group: BoardGroup) -> pl.Series:
    """Which of ``crimes`` the row ``group`` counts (:func:`group_masks` of one group)."""
    return group_masks(crimes, [group])[group.name]


def _poisson_pmf(k: np.ndarray, mu: float) -> np.ndarray:
    """Poisson(``mu``) probabilities of ``k``: scipy.stats.poisson.pmf's own formula
    (exp(xlogy(k, mu) - gammaln(k + 1) - mu)), the same to the bit, without importing
    scipy.stats (most of a second of start-up)."""
    out: np.ndarray = np.exp(special.xlogy(k, mu) - special.gammaln(k + 1) - mu)
    return out


def poisson_two_sided(x: int, mu: float) -> float:
    """Exact two-sided p-value of observing ``x`` from Poisson(``mu``): the probability of
    every count no more likely than ``x`` (relative tolerance 1e-7, as R)."""
    if mu <= 0:
        return 1.0 if x == 0 else 0.0
    upper = int(max(x, mu) + 40 * math.sqrt(mu) + 50)
    k = np.arange(0, upper + 1)
    pmf = _poisson_pmf(k, mu)
    px = float(_poisson_pmf(np.asarray(x), mu))
    return float(min(1.0, pmf[pmf <= px * (1 + 1e-7)].sum()))


def classify(count: int, average: float | None) -> tuple[str | None, float | None]:
    """("Higher" | "Comparable" | "Lower", p-value), or (None, None) without an average."""
    if average is None:
        return None, None
    p = poisson_two_sided(count, average)
    if p >= SIGNIFICANCE:
        return "Comparable", p
    return ("Higher" if count > average else "Lower"), p


@dataclass(frozen=True)
class BoardRow:
    group: str
    label: str
    this_month: int
    one_year_ago: int | None
    two_years_ago: int | None
    three_years_ago: int | None
    average_1y: float | None
    versus_1y: str | None
    p_1y: float | None
    average_3y: float | None
    versus_3y: str | None
    p_3y: float | None
    rolling_12: int | None
    baseline: int | None
    baseline_change: float | None
    outcome: OutcomeRate | None


@dataclass(frozen=True)
class BoardTable:
    month: str
    scope: str
    baseline_period: str
    rolling_period: str
    coverage_from: str
    rows: list[BoardRow]
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def previous_year_end(month: date, year_end_month: int) -> date:
    """The last year-end month strictly before ``month``."""
    d = add_months(month, -1)
    while d.month != year_end_month:
        d = add_months(d, -1)
    return d


def _window(series: dict[date, int], end: date, months: int, first: date) -> list[int] | None:
    start = add_months(end, 1 - months)
    if start < first:
        return None
    return [series.get(add_months(start, i), 0) for i in range(months)]


def board_row(
    group: str,
    label: str,
    monthly: dict[date, int],
    month: date,
    first_month: date,
    year_end_month: int = 3,
    outcome: OutcomeRate | None = None,
) -> BoardRow:
    """One row from a group's monthly counts (months absent from ``monthly`` count 0 when
    they are on or after ``first_month``, the first month the extract covers)."""

    def at(offset: int) -> int | None:
        d = add_months(month, -offset)
        return monthly.get(d, 0) if d >= first_month else None

    before_1y = _window(monthly, add_months(month, -1), 12, first_month)
    before_3y = _window(monthly, add_months(month, -1), 36, first_month)
    avg_1y = sum(before_1y) / 12 if before_1y is not None else None
    avg_3y = sum(before_3y) / 36 if before_3y is not None else None
    x = monthly.get(month, 0)
    v1, p1 = classify(x, avg_1y)
    v3, p3 = classify(x, avg_3y)
    rolling = _window(monthly, month, 12, first_month)
    base = _window(monthly, previous_year_end(month, year_end_month), 12, first_month)
    rolling_12 = sum(rolling) if rolling is not None else None
    baseline = sum(base) if base is not None else None
    change = (rolling_12 - baseline) / baseline if rolling_12 is not None and baseline else None
    return BoardRow(
        group=group,
        label=label,
        this_month=x,
        one_year_ago=at(12),
        two_years_ago=at(24),
        three_years_ago=at(36),
        average_1y=avg_1y,
        versus_1y=v1,
        p_1y=p1,
        average_3y=avg_3y,
        versus_3y=v3,
        p_3y=p3,
        rolling_12=rolling_12,
        baseline=baseline,
        baseline_change=change,
        outcome=outcome,
    )


def _monthly(crimes: pl.DataFrame) -> dict[date, int]:
    counts = crimes.group_by(pl.col("recorded_date").dt.truncate("1mo").alias("m")).agg(pl.len())
    return {m: int(n) for m, n in counts.iter_rows()}


def board_table(
    crimes: pl.DataFrame,
    month: date,
    first_month: date,
    scope_label: str,
    year_end_month: int = 3,
    groups: Iterable[BoardGroup] = BOARD_GROUPS,
) -> BoardTable:
    """The table for ``month`` over ``crimes`` (recorded crimes already within the scope;
    ``first_month``: the first month the extract covers, force-wide)."""
    rolling_start = add_months(month, -11)
    month_end_exclusive = add_months(month, 1)
    rows = []
    groups = list(groups)
    masks = group_masks(crimes, groups)
    for group in groups:
        chosen = crimes.filter(masks[group.name])
        if group.only_where_present and chosen.is_empty():
            continue
        window = chosen.filter(
            (pl.col("recorded_date") >= rolling_start)
            & (pl.col("recorded_date") < month_end_exclusive)
        )
        outcome = (
            prosecution_possible_rate(window["outcome_code"])
            if rolling_start >= first_month
            else None
        )
        rows.append(
            board_row(
                group.name,
                group.label,
                _monthly(chosen),
                month,
                first_month,
                year_end_month,
                outcome,
            )
        )
    ye = previous_year_end(month, year_end_month)
    notes = [
        TEST_NOTE,
        f"Rolling 12 months: {month_label(rolling_start)} to {month_label(month)}. Baseline: "
        f"the 12 months to the previous year-end, {month_label(add_months(ye, -11))} to "
        f"{month_label(ye)}; the percentage beside it is the rolling 12 months' change on it.",
        "Prosecution-possible rate: crimes in the rolling 12 months with Home Office outcome "
        "1-4 or 6-8 (charge or summons, caution, taken into consideration, penalty notice, "
        "cannabis or khat warning, community resolution), over all crimes recorded in those "
        "months including those still open.",
        "Counts are recorded crimes by month of recording, where the crime happened; a crime "
        "may be in more than one row.",
        f"n/a: the extract covers months from {month_label(first_month)}, and the figure "
        "needs earlier months.",
    ]
    return BoardTable(
        month=month_label(month),
        scope=scope_label,
        baseline_period=f"{month_label(add_months(ye, -11))} to {month_label(ye)}",
        rolling_period=f"{month_label(rolling_start)} to {month_label(month)}",
        coverage_from=month_label(first_month),
        rows=rows,
        notes=notes,
    )


def _int(v: int | None, missing: str | None) -> str:
    if v is not None:
        return f"{v:,}"
    return f"n/a ({missing})" if missing else "n/a"


def _versus(avg: float | None, verdict: str | None, months: int) -> str:
    if avg is None or verdict is None:
        return f"n/a (needs {months} months)"
    return f"{verdict} ({avg:,.1f})"


BOARD_COLUMNS = (
    "Offence group",
    "This month",
    "1 year ago",
    "2 years ago",
    "3 years ago",
    "vs 1-year monthly average",
    "vs 3-year monthly average",
    "Rolling 12 months",
    "Baseline (previous year-end)",
    "Prosecution-possible rate",
)


def display_rows(table: BoardTable) -> list[list[str]]:
    """The table as text cells in ``BOARD_COLUMNS`` order, for the report and the app."""
    out = []
    for r in table.rows:
        if r.outcome is None or r.outcome.rate is None:
            pp = "n/a (needs 12 months)" if r.outcome is None else "no crimes"
        else:
            pp = f"{100 * r.outcome.rate:.1f}% ({100 * (r.outcome.open_share or 0):.0f}% open)"
        base = _int(r.baseline, None)
        if r.baseline_change is not None:
            base += f" ({100 * r.baseline_change:+.1f}%)"
        out.append(
            [
                r.label,
                f"{r.this_month:,}",
                _int(r.one_year_ago, None),
                _int(r.two_years_ago, None),
                _int(r.three_years_ago, None),
                _versus(r.average_1y, r.versus_1y, 12),
                _versus(r.average_3y, r.versus_3y, 36),
                _int(r.rolling_12, "needs 12 months"),
                base,
                pp,
            ]
        )
    return out
