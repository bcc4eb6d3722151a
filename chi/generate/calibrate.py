"""Measure an extract against the realism bands of the synthetic generator.

Everything chi shows is only as credible as its data, so the generator is tuned to public
figures (``shared/spec/calibration.md``): police.uk volumes, mix and places for 2024, and the
shapes published research reports for harm, repeats and domestic abuse. This module measures
each band on any contract-v1 extract, through the same validated views the scoring uses
(``chi.scoring.prepare.prepare``), so rejected rows never count and harm is the weight set's.

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

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from chi import sql
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
    from chi.scoring.prepare import prepare

    by_key, by_class, by_group = _category_maps()
    with prepare(extract) as p:
        crimes = sql.run(p.con, "generate/crimes").pl()
        victims = sql.run(p.con, "generate/victims").pl()
        suspects = sql.run(p.con, "generate/suspects").pl()
        lsoas = sql.run(p.con, "generate/lsoa_districts").pl()
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
        *_history_bands(f, period),
        *_da_history_bands(f, da, period),
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


def _relative_band(name: str, target: float, share: float, period: str, of: str = "") -> BandResult:
    """A share (``of`` what, in words) within 10% of its target, at least a point either way."""
    tol = max(0.01, 0.1 * target)
    return _band(
        name,
        f"{100 * target:.1f}% ± {100 * tol:.1f} pts{of}, {period}",
        share,
        abs(share - target) <= tol,
    )


def _place_bands(
    year: pl.DataFrame, src: Sources, n_lsoas: int, period: Period
) -> list[BandResult]:
    out = []
    classified = year.filter(pl.col("category").is_not_null())
    real = src.month_category.sum(axis=0)
    for ci, category in enumerate(src.categories):
        target = float(real[ci] / real.sum())
        share = _mean(classified["category"] == category)
        out.append(_relative_band(f"category share: {category}", target, share, period.label))
    in_force = year.filter(pl.col("district_name").is_not_null())
    unlocated = 1 - in_force.height / max(1, year.height)
    out.append(_share_band("no location or outside the force", 0.03, 0.07, unlocated, period.label))
    for district, target in _district_shares(src).items():
        share = _mean(in_force["district_name"] == district)
        name = f"district share: {district}"
        out.append(_relative_band(name, target, share, period.label, " of located crimes"))
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


# ---------------------------------------------------------------------------------------
# Victim histories over time: how one year leads to the next.

PRIOR_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5–9", 5, 9),
    ("10+", 10, None),
)
TOP_SHARE = 0.01
MIN_PRIOR_GROUP = 20
"""A prior-count group with fewer people than this is too small to compare."""


@dataclass(frozen=True)
class Years:
    """The 12 months up to a cut month, and the 12 months after it."""

    before_start: date
    cut_end: date
    after_end: date

    @classmethod
    def of(cls, period: Period) -> Years | None:
        """The last 24 complete months split in two; None when the extract is shorter."""
        if period.span < 24:
            return None
        after_end = period.last_complete
        cut_end = _months_back(after_end, 11) - timedelta(days=1)
        return cls(_months_back(cut_end, 11), cut_end, after_end)

    def before(self) -> pl.Expr:
        return pl.col("recorded_date").is_between(self.before_start, self.cut_end)

    def after(self) -> pl.Expr:
        return (pl.col("recorded_date") > self.cut_end) & (
            pl.col("recorded_date") <= self.after_end
        )


def repeat_by_prior(events: pl.DataFrame, years: Years) -> pl.DataFrame:
    """Per group of victimisations in the year before the cut (``PRIOR_GROUPS``): people
    and the share victimised again in the year after. ``events``: ``person_id``,
    ``crime_id``, ``recorded_date``."""
    e = events.unique(["person_id", "crime_id"])
    before = e.filter(years.before()).group_by("person_id").len("prior")
    again = e.filter(years.after()).select("person_id").unique().with_columns(again=pl.lit(True))
    joined = before.join(again, on="person_id", how="left").with_columns(
        pl.col("again").fill_null(False)
    )
    rows = []
    for label, lo, hi in PRIOR_GROUPS:
        sub = joined.filter(
            (pl.col("prior") >= lo) & (pl.col("prior") <= (hi if hi is not None else 1 << 30))
        )
        rows.append({"group": label, "people": sub.height, "share": _mean(sub["again"])})
    return pl.DataFrame(rows, schema={"group": pl.String, "people": pl.Int64, "share": pl.Float64})


def _top(harm: pl.DataFrame, share: float) -> pl.Series:
    """The ``share`` of people with the most harm (at least one), ties broken by person_id."""
    ranked = harm.filter(pl.col("harm") > 0).sort(["harm", "person_id"], descending=[True, False])
    n = max(1, round(share * ranked.height)) if ranked.height else 0
    return ranked.head(n)["person_id"]


def top_persistence(events: pl.DataFrame, years: Years, share: float = TOP_SHARE) -> float:
    """Of the top ``share`` of victims by harm in the year before the cut, the share who are
    in the top ``share`` of the year after. ``events``: ``person_id``, ``crime_id``,
    ``recorded_date``, ``weight``."""
    e = events.unique(["person_id", "crime_id"])

    def harm(expr: pl.Expr) -> pl.DataFrame:
        return (
            e.filter(expr)
            .group_by("person_id")
            .agg(pl.col("weight").fill_null(0).sum().alias("harm"))
        )

    top_before = _top(harm(years.before()), share)
    if top_before.is_empty():
        return float("nan")
    top_after = _top(harm(years.after()), share)
    return _mean(top_before.is_in(top_after.implode()))


def later_harm_ratio(events: pl.DataFrame, years: Years) -> tuple[float, float, float]:
    """Mean harm in the year after the cut of the fifth of victims with the most harm in the
    year before, over the same for the fifth with the least (ties broken by person_id):
    (ratio, top mean, bottom mean)."""
    e = events.unique(["person_id", "crime_id"])
    before = (
        e.filter(years.before())
        .group_by("person_id")
        .agg(pl.col("weight").fill_null(0).sum().alias("harm"))
        .sort(["harm", "person_id"], descending=[True, False])
    )
    later = (
        e.filter(years.after())
        .group_by("person_id")
        .agg(pl.col("weight").fill_null(0).sum().alias("later"))
    )
    fifth = before.height // 5
    if fifth == 0:
        return float("nan"), float("nan"), float("nan")

    def mean_later(people: pl.DataFrame) -> float:
        joined = people.join(later, on="person_id", how="left")
        return _mean(joined["later"].fill_null(0))

    top, bottom = mean_later(before.head(fifth)), mean_later(before.tail(fifth))
    ratio = top / bottom if bottom > 0 else float("inf") if top > 0 else float("nan")
    return ratio, top, bottom


def repeat_gaps(events: pl.DataFrame, unit: list[str], within: int = 365) -> pl.Series:
    """Days from each event of a unit to its next one, for next events within ``within``
    days of the last (a repeat, not a new episode)."""
    e = events.unique([*unit, "crime_id"]).sort([*unit, "recorded_date", "crime_id"])
    gap = (pl.col("recorded_date") - pl.col("recorded_date").shift(1).over(unit)).dt.total_days()
    gaps = e.select(gap.alias("gap"))["gap"].drop_nulls()
    return gaps.filter(gaps <= within)


def _history_bands(f: Frames, period: Period) -> list[BandResult]:
    years = Years.of(period)
    names = (
        "repeat chance rising with prior victimisations",
        "repeat chance after one victimisation",
        "repeat chance after 5–9 victimisations",
        "top 1% of victims by harm again top 1% next year",
    )
    targets = (
        "strictly rising over 1, 2, 3, 4, 5–9, 10+ in the year before a cut, next 12 months "
        f"(groups under {MIN_PRIOR_GROUP} people not compared)",
        "5–20% victimised again within 12 months",
        "40–90% victimised again within 12 months",
        "≤ 15% (top 1% by harm, year before vs year after a cut)",
    )
    if years is None:
        why = f"{period.span} months < 24"
        return [_not_measurable(n, t, why) for n, t in zip(names, targets, strict=True)]
    people = f.victimisations.filter(pl.col("person_type") == "individual")
    by_prior = repeat_by_prior(people, years)
    shares = by_prior["share"].to_list()
    sizes = by_prior["people"].to_list()
    # Groups too small to compare (a small --scale) are left out of the comparison, but at
    # least the first four groups must be there.
    compared = [s for s, n in zip(shares, sizes, strict=True) if n >= MIN_PRIOR_GROUP]
    enough = all(n >= MIN_PRIOR_GROUP for n in sizes[:4])
    rising = enough and all(b > a for a, b in itertools.pairwise(compared))
    shown = ", ".join(
        f"{g} {_pct(s)} (n={n:,})"
        for g, s, n in zip(by_prior["group"].to_list(), shares, sizes, strict=True)
    )
    one, five = shares[0], shares[4]
    persistence = top_persistence(people, years)
    span = f"cut {years.cut_end.isoformat()[:7]}"
    return [
        _band(names[0], f"{targets[0]} ({span})", shares[-1], rising, shown),
        _band(names[1], targets[1], one, not math.isnan(one) and 0.05 <= one <= 0.20),
        _band(names[2], targets[2], five, not math.isnan(five) and 0.40 <= five <= 0.90),
        _band(
            names[3],
            targets[3],
            persistence,
            not math.isnan(persistence) and persistence <= 0.15,
        ),
    ]


def _da_history_bands(f: Frames, da: pl.DataFrame, period: Period) -> list[BandResult]:
    out: list[BandResult] = []
    years = Years.of(period)
    name = "later DA harm: top fifth vs bottom fifth of DA harm"
    target = "≥ 1.5× (DA victims, year before vs year after a cut)"
    da_victims = f.victimisations.filter(
        pl.col("domestic_abuse") & (pl.col("person_type") == "individual")
    )
    if years is None:
        out.append(_not_measurable(name, target, f"{period.span} months < 24"))
    else:
        ratio, top, bottom = later_harm_ratio(da_victims, years)
        out.append(
            _band(
                name,
                target,
                ratio,
                not math.isnan(ratio) and ratio >= 1.5,
                f"{ratio:.1f}× ({top:.1f} vs {bottom:.1f} days)",
            )
        )
    gaps = repeat_gaps(
        da.select("perpetrator", "person_id", "crime_id", "recorded_date"),
        [
            "perpetrator",
            "person_id",
        ],
    )
    within_30 = _mean(gaps <= 30) if len(gaps) else float("nan")
    over_90 = _mean(gaps > 90) if len(gaps) else float("nan")
    period_text = "DA repeats (same victim and suspect, within a year), all months"
    out.append(_share_band("DA repeats within 30 days", 0.25, 0.70, within_30, period_text))
    out.append(_share_band("DA repeats after 90 days", 0.15, 0.60, over_90, period_text))
    da_crimes = f.crimes.filter(pl.col("domestic_abuse") & (pl.col("status") == "recorded"))
    da_suspects = f.suspects.filter(pl.col("crime_id").is_in(da_crimes["crime_id"].implode()))
    victims = da_victims["person_id"].unique()
    out.append(
        _share_band(
            "DA victims also DA suspects (counter-allegations)",
            0.02,
            0.12,
            _mean(victims.is_in(da_suspects["person_id"].unique().implode())),
            "individual DA victims, all months",
        )
    )
    suspects_per = da.group_by("person_id").agg(pl.col("perpetrator").n_unique().alias("n"))
    out.append(
        _share_band(
            "DA victims with 2+ DA suspects",
            0.03,
            0.15,
            _mean(suspects_per["n"] >= 2),
            "individual DA victims with a suspect, all months",
        )
    )
    out.append(
        _share_band(
            "DA victimisations without a DASH grade",
            0.10,
            0.40,
            _mean(da_victims["dash_risk"].is_null()),
            "individual victims of recorded DA crimes, all months",
        )
    )
    return out
