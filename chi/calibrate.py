"""Measure an extract against the realism bands of the synthetic generator.

Everything chi shows is only as credible as its data, so the generator is tuned to public
figures (``shared/spec/calibration.md``): police.uk volumes, mix and places for 2024, and the
shapes published research reports for harm, repeats and domestic abuse. This module measures
each band on any contract-v1 extract, through the same validated views the scoring uses
(``chi.pipeline.prepare``), so rejected rows never count and harm is the weight set's.

Decisions:

- The police.uk category of a crime is derived from its offence code (else its Home Office
  class, else its offence group) through the CHI classification codes of the 2017/18 offence
  mix, never from anything the generator might add.
- Annual bands are measured on the last 12 complete months (all months if fewer); the
  period is stated in each target. Bands that need follow-up (no repeat within 12 months,
  no further DA crime within 24 months) use only the cohorts that have it, and report
  "not measurable" (and count as met) on an extract too short to have any.
- Victim bands are about individuals; organisations are counted only where the band is
  about them. A "victimisation" is a (recorded crime, victim) pair, as in the contract.
- The volume target scales with the generator's ``--scale``, read from the extract's
  ``truth/generator.json`` when present (1 otherwise).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from chi.generate.sources import Sources, load_sources

MONTHLY_VOLUME_2024 = 5_800
VOLUME_TOLERANCE = 0.10
VIOLENCE = "Violence and sexual offences"


@dataclass(frozen=True)
class BandResult:
    name: str
    target: str
    measured: str
    value: float
    met: bool

    def as_row(self) -> dict[str, object]:
        return {
            "band": self.name,
            "target": self.target,
            "measured": self.measured,
            "met": "yes" if self.met else "NO",
        }


def _mean(values: pl.Series) -> float:
    """Mean of a numeric or boolean series; NaN when empty."""
    m = values.cast(pl.Float64).mean()
    return float(m) if isinstance(m, int | float) else float("nan")


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _band(
    name: str, target: str, value: float, ok: bool, measured: str | None = None
) -> BandResult:
    return BandResult(name, target, measured if measured is not None else _pct(value), value, ok)


def _share_band(name: str, lo: float, hi: float, value: float, period: str) -> BandResult:
    target = f"{100 * lo:g}–{100 * hi:g}%, {period}"
    return _band(name, target, value, not math.isnan(value) and lo <= value <= hi)


def _not_measurable(name: str, target: str, why: str) -> BandResult:
    return BandResult(name, target, f"not measurable ({why})", float("nan"), True)


# ---------------------------------------------------------------------------------------
# Measures: pure functions of small frames, so each can be checked by hand.


def concentration(harm: pl.Series, share: float) -> float:
    """Smallest fraction of units that together hold ``share`` of the total harm."""
    values = np.sort(harm.fill_null(0).cast(pl.Float64).to_numpy())[::-1]
    total = values.sum()
    if len(values) == 0 or total <= 0:
        return float("nan")
    k = int(np.searchsorted(np.cumsum(values), share * total - 1e-9)) + 1
    return k / len(values)


def repeat_harm_share(person_harm: pl.DataFrame) -> float:
    """Share of harm against people with two or more victimisations (``harm``, ``crimes``)."""
    total = float(person_harm["harm"].sum())
    if total <= 0:
        return float("nan")
    return float(person_harm.filter(pl.col("crimes") >= 2)["harm"].sum()) / total


def no_repeat_share(
    events: pl.DataFrame, unit: list[str], follow_days: int, last_start: date
) -> float:
    """Share of units (first event on or before ``last_start``) with no further event within
    ``follow_days`` after the first. ``events``: unit columns, ``recorded_date``,
    ``crime_id``; a unit's events are ordered by date then crime id."""
    e = events.unique([*unit, "crime_id"]).sort([*unit, "recorded_date", "crime_id"])
    e = e.with_columns(pl.int_range(pl.len()).over(unit).alias("_n"))
    first = e.filter(pl.col("_n") == 0).select([*unit, pl.col("recorded_date").alias("_first")])
    first = first.filter(pl.col("_first") <= last_start)
    if first.height == 0:
        return float("nan")
    later = (
        e.filter(pl.col("_n") > 0)
        .join(first, on=unit)
        .filter(pl.col("recorded_date") <= pl.col("_first") + timedelta(days=follow_days))
        .select(unit)
        .unique()
    )
    return 1.0 - later.height / first.height


def rise_fall_ratio(events: pl.DataFrame, unit: list[str]) -> tuple[float, int, int]:
    """Rising over falling steps of ``weight`` between a unit's successive events."""
    e = events.filter(pl.col("weight").is_not_null()).sort([*unit, "recorded_date", "crime_id"])
    e = e.with_columns((pl.col("weight") - pl.col("weight").shift(1).over(unit)).alias("_step"))
    rises = e.filter(pl.col("_step") > 0).height
    falls = e.filter(pl.col("_step") < 0).height
    return (rises / falls if falls else float("nan")), rises, falls


def hazard_ratio(
    victimisations: pl.DataFrame, as_of: date, early: tuple[int, int], late: tuple[int, int]
) -> tuple[float, float, float]:
    """Discrete hazard of a person's next victimisation at ``early`` vs ``late`` days after
    one (life table: events in the interval over person-days at risk in it)."""
    e = (
        victimisations.unique(["person_id", "crime_id"])
        .sort(["person_id", "recorded_date", "crime_id"])
        .with_columns(pl.col("recorded_date").shift(-1).over("person_id").alias("_next"))
    )
    gap = (pl.col("_next") - pl.col("recorded_date")).dt.total_days()
    censor = (pl.lit(as_of) - pl.col("recorded_date")).dt.total_days()
    e = e.select(gap.alias("gap"), censor.alias("censor"))
    gaps = e["gap"].to_numpy(allow_copy=True)
    end = np.where(np.isnan(gaps.astype(np.float64)), e["censor"].to_numpy(), gaps)

    def hazard(lo: int, hi: int) -> float:
        at_risk = np.clip(np.minimum(end, hi - 1) - lo + 1, 0, None).sum()
        g = gaps.astype(np.float64)
        events = np.sum((g >= lo) & (g < hi))
        return float(events / at_risk) if at_risk else float("nan")

    h_early, h_late = hazard(*early), hazard(*late)
    ratio = h_early / h_late if h_late and not math.isnan(h_late) else float("nan")
    return ratio, h_early, h_late


# ---------------------------------------------------------------------------------------
# Reading an extract


@cache
def _category_maps() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(offence_key, ho_class, offence_group) -> police.uk category, from the two files."""
    src: Sources = load_sources()
    keys = [(k, src.category_of_key(k), w.classification) for k, w in src.weights.items()]
    by_key = pl.DataFrame(
        {
            "offence_key": [k for k, _, _ in keys],
            "key_category": [c for _, c, _ in keys],
            "classification": [c for _, _, c in keys],
        },
        schema={"offence_key": pl.String, "key_category": pl.String, "classification": pl.String},
    )

    def unique_by(column: str, values: list[tuple[str | None, str | None]]) -> pl.DataFrame:
        frame = pl.DataFrame(
            values, schema={column: pl.String, "category": pl.String}, orient="row"
        )
        return (
            frame.drop_nulls()
            .unique()
            .group_by(column)
            .agg(pl.col("category").first(), pl.len().alias("n"))
            .filter(pl.col("n") == 1)
            .drop("n")
        )

    rows = list(src.weights.values())
    by_class = unique_by(
        "ho_class", [(w.ho_class, src.classification_category.get(w.classification)) for w in rows]
    ).rename({"category": "class_category"})
    by_group = unique_by(
        "offence_group",
        [(w.group, src.classification_category.get(w.classification)) for w in rows],
    ).rename({"category": "group_category"})
    return by_key, by_class, by_group


@dataclass(frozen=True)
class Frames:
    crimes: pl.DataFrame
    victimisations: pl.DataFrame
    """Recorded crimes x victims, with person_type, weight and the crime's columns."""
    victims_all: pl.DataFrame
    """Every accepted victim row with the crime's status and category."""
    suspects: pl.DataFrame
    as_of: date
    lsoas: pl.DataFrame


def _read(extract: Path) -> Frames:
    from chi.pipeline import prepare

    by_key, by_class, by_group = _category_maps()
    with prepare(extract) as p:
        cur = p.con.cursor
        crimes = (
            cur()
            .sql(
                """
            select crime_id, recorded_date, month, status, domestic_abuse, da_relationship,
                   lsoa_code, offence_code, ho_class, weight,
                   split_part(offence_code, '.', 1) as offence_group
            from crimes
            """
            )
            .pl()
        )
        victims = (
            cur()
            .sql(
                """
            select v.crime_id, v.person_id, p.person_type
            from victims v join persons p using (person_id)
            """
            )
            .pl()
        )
        suspects = cur().sql("select crime_id, person_id, role from suspects").pl()
        lsoas = cur().sql("select lsoa_code, district_name from ref_lsoa").pl()
        as_of = p.as_of
    crimes = (
        crimes.join(by_key, left_on="offence_code", right_on="offence_key", how="left")
        .join(by_class, on="ho_class", how="left")
        .join(by_group, on="offence_group", how="left")
        .with_columns(
            pl.coalesce("key_category", "class_category", "group_category").alias("category"),
            pl.col("weight").cast(pl.Float64),
        )
        .drop("key_category", "class_category", "group_category")
        .join(lsoas, on="lsoa_code", how="left")
        .sort("crime_id")
    )
    victims_all = victims.join(
        crimes.select(
            "crime_id", "status", "category", "offence_code", "ho_class", "classification"
        ),
        on="crime_id",
    )
    victimisations = victims.join(crimes.filter(pl.col("status") == "recorded"), on="crime_id")
    return Frames(crimes, victimisations, victims_all, suspects, as_of, lsoas)


def _months_back(d: date, n: int) -> date:
    """First day of the month ``n`` months before ``d``'s month."""
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(y, m + 1, 1)


def _scale(extract: Path) -> tuple[float, str]:
    path = extract / "truth" / "generator.json"
    if path.is_file():
        try:
            return float(
                json.loads(path.read_text(encoding="utf-8"))["scale"]
            ), "truth/generator.json"
        except (ValueError, KeyError, TypeError):
            pass
    return 1.0, "assumed"


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The extract's months, and the year the annual bands are measured on."""

    as_of: date
    last_complete: date
    span: int
    """Months from the first recorded crime's month to the last complete month."""
    year_start: date
    label: str

    @classmethod
    def of(cls, crimes: pl.DataFrame, as_of: date) -> Period:
        month_end = (as_of + timedelta(days=1)).day == 1
        last = as_of if month_end else _months_back(as_of, 0) - timedelta(days=1)
        earliest = crimes["recorded_date"].min()
        first = _months_back(earliest if isinstance(earliest, date) else last, 0)
        span = (last.year - first.year) * 12 + last.month - first.month + 1
        year_start = max(first, _months_back(last, 11))
        months = (last.year - year_start.year) * 12 + last.month - year_start.month + 1
        label = "last 12 complete months" if months == 12 else f"all {months} months"
        return cls(as_of, last, span, year_start, label)

    def in_year(self) -> pl.Expr:
        return pl.col("recorded_date").is_between(self.year_start, self.last_complete)


def measure_bands(extract: Path) -> list[BandResult]:
    """Every calibration band, measured on ``extract``."""
    extract = Path(extract)
    f = _read(extract)
    src = load_sources()
    period = Period.of(f.crimes, f.as_of)
    recorded = f.crimes.filter(pl.col("status") == "recorded")
    year = recorded.filter(period.in_year())
    da = f.victimisations.filter(
        pl.col("domestic_abuse") & (pl.col("person_type") == "individual")
    ).join(f.suspects.select("crime_id", pl.col("person_id").alias("perpetrator")), on="crime_id")
    return [
        *_volume_bands(year, src, _scale(extract), period),
        *_place_bands(year, src, f.lsoas.height, period),
        _share_band(
            "domestic abuse share of crime",
            0.13,
            0.17,
            _mean(year["domestic_abuse"]),
            period.label,
        ),
        *_harm_bands(f.victimisations, period),
        *_domestic_bands(da, period),
        *_people_bands(f, recorded),
        *_organisation_bands(f),
    ]


def _volume_bands(
    year: pl.DataFrame, src: Sources, scale: tuple[float, str], period: Period
) -> list[BandResult]:
    per_month = year.group_by("month").len().sort("month")
    mean = _mean(per_month["len"]) if per_month.height else 0.0
    target = MONTHLY_VOLUME_2024 * scale[0]
    volume = _band(
        "volume: recorded crimes a month",
        f"{target:,.0f} ± 10% (5,800 × scale {scale[0]:g}, {scale[1]}), {period.label}",
        mean,
        abs(mean - target) <= VOLUME_TOLERANCE * target,
        f"{mean:,.0f}",
    )
    return [volume, _seasonality(per_month, src)]


def _place_bands(
    year: pl.DataFrame, src: Sources, n_lsoas: int, period: Period
) -> list[BandResult]:
    out = []
    classified = year.filter(pl.col("category").is_not_null())
    real = src.month_category.sum(axis=0)
    for ci, category in enumerate(src.categories):
        target = float(real[ci] / real.sum())
        share = _mean(classified["category"] == category)
        tol = max(0.01, 0.1 * target)
        out.append(
            _band(
                f"category share: {category}",
                f"{100 * target:.1f}% ± {100 * tol:.1f} pts, {period.label}",
                share,
                abs(share - target) <= tol,
            )
        )
    in_force = year.filter(pl.col("district_name").is_not_null())
    unlocated = 1 - in_force.height / max(1, year.height)
    out.append(_share_band("no location or outside the force", 0.03, 0.07, unlocated, period.label))
    for district, target in _district_shares(src).items():
        share = _mean(in_force["district_name"] == district)
        tol = max(0.01, 0.1 * target)
        out.append(
            _band(
                f"district share: {district}",
                f"{100 * target:.1f}% ± {100 * tol:.1f} pts of located crimes, {period.label}",
                share,
                abs(share - target) <= tol,
            )
        )
    per_lsoa = in_force.group_by("lsoa_code").len()["len"].to_numpy()
    per_lsoa = np.r_[per_lsoa, np.zeros(max(0, n_lsoas - len(per_lsoa)))]
    top = np.sort(per_lsoa)[::-1][: max(1, n_lsoas // 10)].sum() / max(1, per_lsoa.sum())
    out.append(_share_band("crime in the top 10% of LSOAs", 0.30, 0.40, float(top), period.label))
    return out


def _harm_bands(victimisations: pl.DataFrame, period: Period) -> list[BandResult]:
    people = victimisations.filter((pl.col("person_type") == "individual") & period.in_year())
    person_harm = people.group_by("person_id").agg(
        pl.col("weight").fill_null(0).sum().alias("harm"), pl.len().alias("crimes")
    )
    return [
        _share_band(
            "victims suffering 85% of harm",
            0.025,
            0.06,
            concentration(person_harm["harm"], 0.85),
            f"individual victims, {period.label}",
        ),
        _share_band(
            "harm against repeat victims",
            0.20,
            0.40,
            repeat_harm_share(person_harm),
            f"victims with 2+ victimisations, {period.label}",
        ),
    ]


def _people_bands(f: Frames, recorded: pl.DataFrame) -> list[BandResult]:
    individuals = f.victimisations.filter(pl.col("person_type") == "individual")
    ratio, h_early, h_late = hazard_ratio(individuals, f.as_of, (0, 30), (180, 366))
    hazard = _band(
        "repeat hazard: 0–30 days vs 180–365 days",
        "≥ 3× (next victimisation of a person, all months)",
        ratio,
        not math.isnan(ratio) and ratio >= 3,
        f"{ratio:.1f}× ({1000 * h_early:.2f} vs {1000 * h_late:.2f} per 1,000 person-days)",
    )
    violence_victims = individuals.filter(pl.col("category") == VIOLENCE)["person_id"].unique()
    overlap = _mean(violence_victims.is_in(f.suspects["person_id"].unique().implode()))
    named = recorded["crime_id"].is_in(f.suspects["crime_id"].unique().implode())
    charged_ids = f.suspects.filter(pl.col("role") == "charged")["crime_id"].unique()
    charged = recorded["crime_id"].is_in(charged_ids.implode())
    per_crime = f.victimisations.group_by("crime_id").len()
    return [
        hazard,
        _share_band("violence victims also suspects", 0.03, 0.10, overlap, "all months"),
        _share_band(
            "crimes with a named suspect", 0.30, 0.50, _mean(named), "recorded crimes, all months"
        ),
        _share_band("crimes charged", 0.05, 0.09, _mean(charged), "recorded crimes, all months"),
        _share_band(
            "crimes with more than one victim",
            0.02,
            0.08,
            _mean(per_crime["len"] > 1),
            "recorded crimes with a victim, all months",
        ),
    ]


def _seasonality(per_month: pl.DataFrame, src: Sources) -> BandResult:
    real = src.month_category.sum(axis=1)
    real_ratio = (real[4] + real[5]) / (real[11] + real[0])
    name = "seasonality: May–June vs December–January"
    target = f"≥ 1.08 (2024: {real_ratio:.2f}) and December among the 3 lowest months"
    if per_month.height < 12:
        return _not_measurable(name, target, f"{per_month.height} months < 12")
    by_cal = {int(m[5:7]): n for m, n in per_month.iter_rows()}
    ratio = (by_cal[5] + by_cal[6]) / (by_cal[12] + by_cal[1])
    low3 = sorted(by_cal, key=lambda m: by_cal[m])[:3]
    return _band(
        name,
        target,
        ratio,
        ratio >= 1.08 and 12 in low3,
        f"{ratio:.2f}, lowest: {', '.join(str(m) for m in low3)}",
    )


def _district_shares(src: Sources) -> dict[str, float]:
    n = len(src.lsoas)
    per_lsoa = src.place_category[:n].sum(axis=1)
    out = {}
    for d, name in enumerate(src.districts):
        out[name] = float(per_lsoa[src.lsoa_district == d].sum() / per_lsoa.sum())
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _domestic_bands(da: pl.DataFrame, period: Period) -> list[BandResult]:
    events = da.select(
        "perpetrator", "person_id", "crime_id", "recorded_date", "weight", "da_relationship"
    )
    dyad = ["perpetrator", "person_id"]
    out: list[BandResult] = []

    name = "DA dyads with no repeat within 12 months"
    target = "65–85%, dyads first seen 12+ months before as-of"
    if period.span < 13:
        out.append(_not_measurable(name, target, f"{period.span} months < 13"))
    else:
        share = no_repeat_share(events, dyad, 365, period.as_of - timedelta(days=365))
        out.append(_band(name, target, share, 0.65 <= share <= 0.85))

    dyad_harm = (
        events.filter(period.in_year())
        .unique([*dyad, "crime_id"])
        .group_by(dyad)
        .agg(pl.col("weight").fill_null(0).sum().alias("harm"))
    )
    share = concentration(dyad_harm["harm"], 0.80)
    out.append(
        _band(
            "DA dyads holding 80% of DA harm",
            f"≤ 5% of dyads, {period.label}",
            share,
            not math.isnan(share) and share <= 0.05,
        )
    )

    name = "IPV perpetrators with no further DA crime in 24 months"
    target = "65–85%, first DA crime against a (former) partner, with 24 months' follow-up"
    if period.span < 24:
        out.append(_not_measurable(name, target, f"{period.span} months < 24"))
    else:
        first = (
            events.sort(["perpetrator", "recorded_date", "crime_id"])
            .group_by("perpetrator", maintain_order=True)
            .first()
        )
        ipv = first.filter(pl.col("da_relationship").is_in(["intimate_partner", "ex_partner"]))
        cohort_end = _months_back(period.last_complete, 22) - timedelta(days=1)
        share = no_repeat_share(
            events.filter(pl.col("perpetrator").is_in(ipv["perpetrator"].implode())),
            ["perpetrator"],
            730,
            cohort_end,
        )
        out.append(_band(name, target, share, 0.65 <= share <= 0.85))

    recent = events.filter(pl.col("recorded_date") >= _months_back(period.last_complete, 35))
    victims_per = recent.group_by("perpetrator").agg(pl.col("person_id").n_unique())
    out.append(
        _share_band(
            "serial DA perpetrators (2+ victims)",
            0.03,
            0.10,
            _mean(victims_per["person_id"] >= 2),
            f"of DA perpetrators, last {min(period.span, 36)} months",
        )
    )

    ratio, rises, falls = rise_fall_ratio(events.unique([*dyad, "crime_id"]), dyad)
    out.append(
        _band(
            "severity across a dyad's incidents",
            "flat or falling: rising steps ≤ 1.1 × falling steps, all months",
            ratio,
            not math.isnan(ratio) and ratio <= 1.1,
            f"{ratio:.2f} ({rises:,} rising, {falls:,} falling)",
        )
    )
    return out


def _organisation_bands(f: Frames) -> list[BandResult]:
    recorded = f.victims_all.filter(pl.col("status") == "recorded")
    out = []
    groups: dict[str, Callable[[], pl.Expr]] = {
        "shoplifting": lambda: pl.col("category") == "Shoplifting",
        "business burglary": lambda: (
            pl.col("classification").is_in(["30C", "30D", "31A"])
            | pl.col("ho_class").is_in(["030/02", "031/00"])
        ),
    }
    for label, expr in groups.items():
        crimes = (
            recorded.filter(expr())
            .group_by("crime_id")
            .agg((pl.col("person_type") == "organisation").any().alias("org"))
        )
        share = _mean(crimes["org"])
        out.append(
            _band(
                f"organisation victims of {label}",
                "> 50% of those crimes with a victim, all months",
                share,
                not math.isnan(share) and share > 0.5,
            )
        )
    return out
