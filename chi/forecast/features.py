"""The person x list-month table: who could be listed in a month, what was known about them
then, and (separately) what happened to them afterwards.

The **pool** for list month M is every individual not deceased on or before the last day of
M with at least one counted victimisation in the ``LOOKBACK_MONTHS`` (12) calendar months
ending with M (or the policy window, if longer). Policies rank the pool; people first
victimised after M cannot be ranked by anyone and count only in the harm a list could have
caught.

Every feature looks back a **fixed** 12 months at most, and list months start only once that
much history exists (``lookback_months``). A feature over "all the history there is" would
mean one thing in an early training month (a year of history) and another in a later test
month (two or three years): the model would learn on pools unlike the ones it is tested
on (left truncation).

A person's neighbourhood is the victim list's (home, else where their latest victimisation
in the policy window happened, else ``unknown``), falling back for people with no
victimisation in the window to where their latest one in the pool's look-back happened.

Every feature is an aggregate of ``chi.forecast.timecut.time_cut`` output, so it uses only
events recorded on or before the last day of M; outcomes (``outcomes``) come only from
``after_cut``. Static attributes are sex, birth date (age on the last day of M), ethnicity
and home neighbourhood, as the extract holds them now. Ethnicity is never a model feature;
it is kept for the fairness audit only, as are the area and the age band.

Harm features are in days (floats are fine for a model); the policy columns that rank the
pool the way the lists do are exact: ``policy_harm_c`` (hundredths of a day) and
``policy_n`` over the policy window, and ``policy_listed`` (on the month's victim list:
harm or count at or above the policy's thresholds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from chi.forecast.history import History, neighbourhood_areas
from chi.forecast.timecut import after_cut, cuts_frame, time_cut
from chi.scoring.ages import age_years

WINDOWS = (1, 3, 6, 12)
LOOKBACK_MONTHS = 12
"""Every feature looks back at most this far, so every list month's pool is alike."""
AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def _months(n: int) -> str:
    return "month" if n == 1 else f"{n} months"


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    unit: str = ""


FEATURES: tuple[Feature, ...] = (
    *(Feature(f"harm_{w}m", f"harm in the last {_months(w)}", "days") for w in WINDOWS),
    *(Feature(f"n_{w}m", f"victimisations in the last {_months(w)}") for w in WINDOWS),
    Feature("days_since_last", "days since the latest victimisation", "days"),
    Feature("days_since_first", "days since the first victimisation (12 months)", "days"),
    Feature("months_active_12m", "months with a victimisation (12 months)"),
    Feature("max_harm_12m", "most harmful single crime (12 months)", "days"),
    Feature("da_12m", "domestic abuse victimisations (12 months)"),
    Feature("da_share_12m", "share of victimisations that were domestic abuse (12 months)"),
    Feature("dash_max_12m", "highest DASH grade (12 months; 3 = high)"),
    Feature("suspect_12m", "crimes as a suspect or offender (12 months)"),
    Feature("da_offenders_12m", "distinct DA offenders (12 months)"),
    Feature("da_max_pair_12m", "most DA crimes by one offender (12 months)"),
    Feature("linked_serial_da", "a DA offender against them has 2+ DA victims (12 months)"),
    Feature("age", "age", "years"),
    Feature("sex_f", "recorded as female"),
    Feature("sex_m", "recorded as male"),
    Feature("nb_victimisations_12m", "victimisations in their neighbourhood (12 months)"),
    Feature("nb_repeat_share_12m", "share of their neighbourhood's victims who were repeats"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_LABELS: dict[str, Feature] = {f.name: f for f in FEATURES}

ATTRIBUTES = ("sex", "age_band", "ethnicity", "area")
"""Groups for the fairness audit."""

ID_COLUMNS = ("cut_month", "cut_mi", "cut_end", "person_id")


def _victim_features(h: History, cuts: pl.DataFrame, lookback: int) -> pl.LazyFrame:
    window = h.policy.window_months
    age = pl.col("age_months")
    weight = pl.col("weight_c")
    events = h.victimisations.lazy().with_row_index("seq")
    seen = time_cut(events, cuts, lookback).with_columns(
        *((weight * (age < w)).alias(f"_h{w}") for w in WINDOWS),
        *((age < w).cast(pl.Int32).alias(f"_n{w}") for w in WINDOWS),
        (weight * (age < window)).alias("_hp"),
        (age < window).cast(pl.Int32).alias("_np"),
        (pl.col("domestic_abuse") & (age < LOOKBACK_MONTHS)).cast(pl.Int32).alias("_da"),
        (weight * (age < LOOKBACK_MONTHS)).alias("_max"),
        pl.when(age < LOOKBACK_MONTHS).then(pl.col("recorded_date")).alias("_lb_date"),
        (pl.col("dash") * (age < 12)).alias("_dash"),
        pl.when(age < 12).then(age).alias("_m12"),
        pl.when(pl.col("place").is_not_null()).then(pl.col("seq")).alias("_place_seq"),
        pl.when(pl.col("place").is_not_null() & (age < window))
        .then(pl.col("seq"))
        .alias("_window_place_seq"),
    )
    places = events.select("seq", "place")
    return (
        seen.group_by("cut_mi", "pix")
        .agg(
            *((pl.col(f"_h{w}").sum() / 100).alias(f"harm_{w}m") for w in WINDOWS),
            *(pl.col(f"_n{w}").sum().alias(f"n_{w}m") for w in WINDOWS),
            pl.col("_hp").sum().alias("policy_harm_c"),
            pl.col("_np").sum().alias("policy_n"),
            pl.col("recorded_date").max().alias("last_date"),
            pl.col("_lb_date").min().alias("first_date"),
            pl.len().alias("_pool_n"),
            pl.col("_m12").drop_nulls().n_unique().alias("months_active_12m"),
            (pl.col("_max").max() / 100).alias("max_harm_12m"),
            pl.col("_da").sum().alias("da_12m"),
            pl.col("_dash").max().alias("dash_max_12m"),
            pl.col("_place_seq").max(),
            pl.col("_window_place_seq").max(),
        )
        .join(
            places.rename({"seq": "_place_seq", "place": "_any_place"}), on="_place_seq", how="left"
        )
        .join(
            places.rename({"seq": "_window_place_seq", "place": "_window_place"}),
            on="_window_place_seq",
            how="left",
        )
        .with_columns(latest_place=pl.coalesce("_window_place", "_any_place"))
        .drop("_place_seq", "_window_place_seq", "_any_place", "_window_place")
    )


def _suspect_features(h: History, cuts: pl.DataFrame) -> pl.LazyFrame:
    seen = time_cut(h.suspect_events.lazy(), cuts, LOOKBACK_MONTHS)
    return seen.group_by("cut_mi", "pix").agg(pl.len().alias("suspect_12m"))


def _dyad_features(h: History, cuts: pl.DataFrame) -> pl.LazyFrame:
    seen = time_cut(h.da_links.lazy(), cuts, LOOKBACK_MONTHS)
    serial = (
        seen.group_by("cut_mi", "offender_id")
        .agg(pl.col("victim_id").n_unique().alias("offender_victims"))
        .filter(pl.col("offender_victims") >= 2)
        .select("cut_mi", "offender_id", pl.lit(1).alias("serial"))
    )
    pairs = (
        seen.group_by("cut_mi", "pix", "offender_id")
        .agg(pl.col("crime_id").n_unique().alias("pair_crimes"))
        .join(serial, on=["cut_mi", "offender_id"], how="left")
    )
    return pairs.group_by("cut_mi", "pix").agg(
        pl.len().alias("da_offenders_12m"),
        pl.col("pair_crimes").max().alias("da_max_pair_12m"),
        pl.col("serial").fill_null(0).max().alias("linked_serial_da"),
    )


def _neighbourhood_rates(h: History, cuts: pl.DataFrame) -> pl.LazyFrame:
    seen = time_cut(h.victimisations.lazy(), cuts, 12).filter(pl.col("place").is_not_null())
    per_person = seen.group_by("cut_mi", "place", "pix").agg(pl.len().alias("n"))
    return (
        per_person.group_by("cut_mi", "place")
        .agg(
            pl.col("n").sum().alias("nb_victimisations_12m"),
            (pl.col("n") >= 2).mean().alias("nb_repeat_share_12m"),
        )
        .rename({"place": "neighbourhood"})
    )


def age_band(age: pl.Expr) -> pl.Expr:
    bounds = (18, 25, 35, 45, 55, 65)
    expr: pl.Expr = pl.lit(AGE_BANDS[-1])
    for bound, band in reversed(list(zip(bounds, AGE_BANDS, strict=False))):
        expr = pl.when(age < bound).then(pl.lit(band)).otherwise(expr)
    return pl.when(age.is_null()).then(pl.lit("unknown")).otherwise(expr)


def lookback_months(h: History) -> int:
    """Months of history the pool and the features of a list month look back over."""
    return max(LOOKBACK_MONTHS, h.policy.window_months)


def row_key() -> pl.Expr:
    """``_key``: a row's (cut_mi, pix) as one integer that orders as the pair does, so the
    table is joined and sorted on one column rather than two (``pix`` is below 2**32)."""
    return (pl.col("cut_mi").cast(pl.Int64) * (1 << 32) + pl.col("pix").cast(pl.Int64)).alias(
        "_key"
    )


def _keyed(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` of (cut_mi, pix) rows keyed by :func:`row_key` instead."""
    return frame.with_columns(row_key()).drop("cut_mi", "pix")


def feature_table(h: History, months: Iterable[date]) -> pl.DataFrame:
    """The pool of every list month in ``months`` with its features, ordered by month and
    person_id."""
    cuts = cuts_frame(months)
    if cuts.is_empty():
        raise ValueError("no list months to build features for")
    lookback = lookback_months(h)
    # The time cuts' range joins run in the streaming engine (all four side by side); the
    # pool comes out in (month, person_id) order and every later join keeps it, so the wide
    # table is never sorted; a person's attributes are their row of ``persons`` (``pix``),
    # taken rather than joined. Those joins run on whole tables (the in-memory engine).
    pool, suspects, dyads, rates = pl.collect_all(
        [
            _victim_features(h, cuts, lookback)
            .filter(pl.col("_pool_n") > 0)
            .join(cuts.lazy(), on="cut_mi")
            .with_columns(row_key())
            .sort("_key"),
            _keyed(_suspect_features(h, cuts)),
            _keyed(_dyad_features(h, cuts)),
            _neighbourhood_rates(h, cuts),
        ]
    )
    people = h.persons.drop("pix")[pool["pix"]]
    table = (
        pl.concat([pool, people], how="horizontal")
        .lazy()
        .filter(pl.col("deceased_date").is_null() | (pl.col("deceased_date") > pl.col("cut_end")))
        .join(suspects.lazy(), on="_key", how="left", maintain_order="left")
        .join(dyads.lazy(), on="_key", how="left", maintain_order="left")
        .with_columns(
            neighbourhood=pl.coalesce("home_neighbourhood", "latest_place", pl.lit("unknown")),
            age=age_years(pl.col("birth_date"), pl.col("cut_end")),
        )
        .join(
            rates.lazy(),
            on=["cut_mi", "neighbourhood"],
            how="left",
            maintain_order="left",
        )
        .join(
            neighbourhood_areas()
            .lazy()
            .rename({"neighbourhood_code": "neighbourhood", "area": "person_area"}),
            on="neighbourhood",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            days_since_last=(pl.col("cut_end") - pl.col("last_date")).dt.total_days(),
            days_since_first=(pl.col("cut_end") - pl.col("first_date")).dt.total_days(),
            da_share_12m=pl.when(pl.col("n_12m") > 0).then(pl.col("da_12m") / pl.col("n_12m")),
            sex_f=(pl.col("sex") == "F").fill_null(False).cast(pl.Int8),
            sex_m=(pl.col("sex") == "M").fill_null(False).cast(pl.Int8),
            sex_group=pl.col("sex").fill_null("unknown"),
            age_band=age_band(pl.col("age")),
            ethnicity_group=pl.col("ethnicity").fill_null("unknown"),
            area=pl.col("person_area").fill_null("unknown"),
        )
    )
    zero_filled = (
        "suspect_12m",
        "da_offenders_12m",
        "da_max_pair_12m",
        "linked_serial_da",
        "dash_max_12m",
    )
    out = (
        table.with_columns(pl.col(c).fill_null(0) for c in zero_filled)
        .select(
            *ID_COLUMNS,
            "pix",
            "neighbourhood",
            pl.col("sex_group").alias("sex"),
            "age_band",
            pl.col("ethnicity_group").alias("ethnicity"),
            "area",
            pl.col("policy_harm_c").cast(pl.Int64),
            pl.col("policy_n").cast(pl.Int64),
            (
                (pl.col("policy_harm_c") >= int(h.policy.min_harm * 100))
                | (pl.col("policy_n") >= h.policy.min_crimes)
            ).alias("policy_listed"),
            "last_date",
            *(pl.col(f).cast(pl.Float64) for f in FEATURE_NAMES),
        )
        .collect(engine="in-memory")
    )
    return out


def outcomes(h: History, months: Iterable[date], horizon: int) -> pl.DataFrame:
    """Per list month and individual victimised in the ``horizon`` months after it:
    ``fut_harm_c`` (hundredths of a day) and ``fut_n``. Everyone, not only the pool."""
    cuts = cuts_frame(months)
    return (
        after_cut(h.victimisations.lazy(), cuts, horizon)
        .group_by("cut_mi", "pix")
        .agg(pl.col("weight_c").sum().alias("fut_harm_c"), pl.len().alias("fut_n"))
        .with_columns(pl.col("fut_harm_c").cast(pl.Int64), pl.col("fut_n").cast(pl.Int64))
        .sort("cut_mi", "pix")
        .collect()
    )


def with_outcomes(
    table: pl.DataFrame, future: pl.DataFrame, horizon: int, last_cut_mi: int
) -> pl.DataFrame:
    """``table`` with ``fut_harm_c_{h}`` and ``fut_n_{h}``: 0 when not victimised, null for
    list months after ``last_cut_mi`` (their horizon runs past the as-of date)."""
    harm, n = f"fut_harm_c_{horizon}", f"fut_n_{horizon}"
    known = pl.col("cut_mi") <= last_cut_mi
    renamed = future.select(row_key(), pl.col("fut_harm_c").alias(harm), pl.col("fut_n").alias(n))
    return (
        table.with_columns(row_key())
        .join(renamed, on="_key", how="left", maintain_order="left")
        .drop("_key")
        .with_columns(
            pl.when(known).then(pl.col(harm).fill_null(0)).alias(harm),
            pl.when(known).then(pl.col(n).fill_null(0)).alias(n),
        )
    )
