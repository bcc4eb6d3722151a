"""Breakdowns of domestic abuse: when, where, between whom, and with what result.

A problem profile describes the problem before it ranks anyone: the monthly trend, the
places, the relationships, who the victims and perpetrators are, how risk was graded, how
far victims are also offenders, and how cases end. Each breakdown here is a small frame of
counts and shares that the report draws and the app shows.

Decisions:

- Counts are DA crimes (each crime once) for trend, place, relationship and outcomes;
  victimisations (crime, victim) for the victim's age, sex and DASH grade; DA links
  (perpetrator, crime) for the perpetrator's age and sex. Age is at the crime's recording.
- Harm is the sum of crime weights (unmatched offences add nothing); shares are of the
  period's total.
- The trend runs over every month the extract covers up to the period's end, with the mean
  of the 12 months ending with each month (shown once 12 months are available).
- **Victim–offender overlap**: of the individuals who were victims of a crime of the kind
  in the period, the share also recorded as a suspect, offender or charged on any recorded
  crime in the extract (any date up to as-of, so a longer extract finds more overlap).
  Given for DA victims and for victims of violence against the person (Home Office classes
  1-5, 8, 11-15, 36, 37, 104 and 105).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from chi.analysis.outcomes import OPEN, OUTCOME_GROUPS, group_expr
from chi.months import add_months

RELATIONSHIPS = {
    "intimate_partner": "Intimate partner",
    "ex_partner": "Ex-partner",
    "family": "Family member",
    "other": "Other",
}
NOT_RECORDED = "Not recorded"
DASH_GRADES = {"standard": "Standard", "medium": "Medium", "high": "High"}
VIOLENCE_CLASSES = frozenset({1, 2, 3, 4, 5, 8, 11, 12, 13, 14, 15, 36, 37, 104, 105})


def _shares(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    out = frame
    for c in columns:
        total = out[c].sum()
        out = out.with_columns(
            (pl.col(c) / total if total else pl.lit(None, pl.Float64)).alias(f"{c}_share")
        )
    return out


def monthly_trend(da_crimes: pl.DataFrame, first_month: date, last_month: date) -> pl.DataFrame:
    """``month`` (YYYY-MM), ``crimes``, ``harm`` and ``rolling_12`` (mean crimes of the 12
    months ending with the month) for every month ``first_month..last_month``."""
    months = []
    d = first_month
    while d <= last_month:
        months.append(d)
        d = add_months(d, 1)
    frame = pl.DataFrame({"month_start": months}, schema={"month_start": pl.Date})
    counts = da_crimes.group_by(month_start=pl.col("recorded_date").dt.truncate("1mo")).agg(
        crimes=pl.len(), harm=pl.col("weight").fill_null(0).sum()
    )
    out = (
        frame.join(counts, on="month_start", how="left")
        .with_columns(pl.col("crimes").fill_null(0), pl.col("harm").fill_null(0.0))
        .sort("month_start")
        .with_columns(
            rolling_12=pl.col("crimes").cast(pl.Float64).rolling_mean(12, min_samples=12),
            month=pl.col("month_start").dt.strftime("%Y-%m"),
        )
    )
    return out.select("month", "crimes", "harm", "rolling_12")


def by_place(da_crimes: pl.DataFrame, level: str) -> pl.DataFrame:
    """DA crimes and harm by ``area``, ``district_name`` or ``neighbourhood_name``
    (place not known: "unknown"), largest harm first."""
    out = (
        da_crimes.group_by(place=pl.col(level).fill_null("unknown"))
        .agg(crimes=pl.len(), harm=pl.col("weight").fill_null(0).sum())
        .sort(["harm", "crimes", "place"], descending=[True, True, False])
    )
    return _shares(out, "crimes", "harm")


def by_relationship(da_crimes: pl.DataFrame) -> pl.DataFrame:
    harm = pl.col("weight").fill_null(0).sum()
    out = _by_label(
        da_crimes, "da_relationship", "relationship", RELATIONSHIPS, crimes=pl.len(), harm=harm
    )
    return _shares(out, "crimes", "harm")


def by_age_sex(frame: pl.DataFrame, age: str, sex: str) -> pl.DataFrame:
    """Counts by age band and sex (``F``, ``M``, ``X``, ``unknown``) of the rows given."""
    out = (
        frame.group_by(age_band=pl.col(age), sex=pl.col(sex).fill_null("unknown"))
        .agg(count=pl.len())
        .sort("age_band", "sex")
    )
    return _shares(out, "count")


def dash_mix(da_victimisations: pl.DataFrame) -> pl.DataFrame:
    out = _by_label(da_victimisations, "dash_risk", "grade", DASH_GRADES, count=pl.len())
    return _shares(out, "count")


def overlap(victims: pl.DataFrame, suspects: pl.DataFrame) -> tuple[int, int, float | None]:
    """(victims, also suspects, share) from victimisation rows (``person_id``) and
    suspect rows (``person_id``)."""
    people = victims.select("person_id").unique()
    also = people.join(suspects.select("person_id").unique(), on="person_id", how="semi")
    n = people.height
    return n, also.height, also.height / n if n else None


def is_violence(ho_code: pl.Expr) -> pl.Expr:
    number = ho_code.str.extract(r"^([0-9]+)", 1).cast(pl.Int64, strict=False)
    return number.is_in(sorted(VIOLENCE_CLASSES)).fill_null(False)


def outcome_mix(crimes: pl.DataFrame) -> pl.DataFrame:
    """Crimes by outcome group, in the order of ``OUTCOME_GROUPS`` then open."""
    out = crimes.with_columns(group=group_expr()).group_by("group").agg(count=pl.len())
    return _shares(_in_order(out, "group", OUTCOME_GROUPS, OPEN), "count")


def _by_label(
    frame: pl.DataFrame, column: str, label: str, words: dict[str, str], **aggs: pl.Expr
) -> pl.DataFrame:
    """``aggs`` by ``column`` in words (``label``; a value not in ``words`` is not recorded),
    in the order of ``words``."""
    labelled = frame.with_columns(
        pl.col(column)
        .replace_strict(words, default=NOT_RECORDED, return_dtype=pl.String)
        .alias(label)
    )
    return _in_order(labelled.group_by(label).agg(**aggs), label, words.values())


def _in_order(
    frame: pl.DataFrame, column: str, order: Iterable[str], last: str = NOT_RECORDED
) -> pl.DataFrame:
    """The rows in the order of ``column``'s labels in ``order``, then ``last``."""
    places = {k: i for i, k in enumerate(dict.fromkeys([*order, last]))}
    return (
        frame.with_columns(_o=pl.col(column).replace_strict(places, return_dtype=pl.Int32))
        .sort("_o")
        .drop("_o")
    )
