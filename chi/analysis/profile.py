"""The domestic abuse problem profile of a run, for a period and an area, in one object.

``build_profile`` is what the command line, the app and the tests call: it takes a
``Source`` (a run's extract, read once) and a request (period, scope, board month, audit
settings), runs every analysis, and returns a ``Profile`` of figures, small frames for the
charts and tables, and a one-line reading of each, generated from the figures. ``as_dict``
gives the same figures as JSON-ready data. Aggregates only: no names, dates of birth or
person references ever reach a profile.

Scope: a profile for an area (or any set of neighbourhoods, as the app's scopes are) counts
the crimes that happened there; everything about a person, dyad or perpetrator is measured
over their crimes in the scope, except the serial-perpetrator count of victims (force-wide,
as MATAC counts it). A force-wide profile also counts crimes with no mapped place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from chi import __version__
from chi.analysis import readings
from chi.analysis.board import board_table
from chi.analysis.breakdowns import (
    by_age_sex,
    by_place,
    by_relationship,
    dash_mix,
    is_violence,
    monthly_trend,
    outcome_mix,
    overlap,
)
from chi.analysis.concentration import Concentration, concentration
from chi.analysis.document import Profile
from chi.analysis.escalation import escalation
from chi.analysis.outcomes import prosecution_possible_rate
from chi.analysis.overrecording import (
    DEFAULT_WITHIN_DAYS,
    STALKING_HARASSMENT,
    over_recording,
)
from chi.analysis.repeats import repeats
from chi.analysis.source import Source
from chi.months import add_months, month_end, month_label, parse_months
from chi.reading.lists import Scope

SERIAL_MONTHS = 36
TOP_NEIGHBOURHOODS = 15


@dataclass(frozen=True)
class Request:
    """What a profile is for."""

    start: date
    """First day of the first month of the period."""
    end: date
    """Last day of the last month."""
    scope: Scope
    board_month: date
    duplicate_days: int = DEFAULT_WITHIN_DAYS
    duplicate_groups: tuple[str, ...] | None = STALKING_HARASSMENT
    year_end_month: int = 3

    @classmethod
    def for_period(
        cls,
        period: str,
        scope: Scope | None = None,
        board_month: str | None = None,
        duplicate_days: int = DEFAULT_WITHIN_DAYS,
        year_end_month: int = 3,
    ) -> Request:
        """``period`` like ``2024-01:2024-12``; the board month defaults to its last month."""
        months = parse_months(period)
        first = date.fromisoformat(f"{months[0]}-01")
        last = date.fromisoformat(f"{months[-1]}-01")
        board = date.fromisoformat(f"{board_month}-01") if board_month else last
        if not 1 <= year_end_month <= 12:
            raise ValueError(f"year-end month must be 1..12, not {year_end_month}")
        if duplicate_days < 0:
            raise ValueError("duplicate window must be zero or more days")
        return cls(
            start=first,
            end=month_end(last),
            scope=scope or Scope.force(),
            board_month=board,
            duplicate_days=duplicate_days,
            year_end_month=year_end_month,
        )

    @property
    def period_label(self) -> str:
        a, b = month_label(self.start), month_label(self.end)
        return a if a == b else f"{a} to {b}"

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def _in_scope(frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    if scope.force_wide:
        return frame
    return frame.filter(pl.col("neighbourhood_code").is_in(sorted(scope.neighbourhoods)))


def _in_period(frame: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return frame.filter(pl.col("recorded_date").is_between(start, end))


def _per_unit(events: pl.DataFrame) -> tuple[pl.Series, pl.Series, int]:
    g = events.group_by("unit").agg(harm=pl.col("harm").fill_null(0).sum(), n=pl.len())
    return g["harm"], g["n"], events.height


def _events(frame: pl.DataFrame, unit: pl.Expr) -> pl.DataFrame:
    return frame.filter(pl.col("counted")).select(
        unit=unit, recorded_date="recorded_date", crime_id="crime_id", harm="weight"
    )


def check_request(request: Request, as_of: date, first_month: date | None = None) -> None:
    """ValueError when the period or board month is not inside the extract."""
    if request.end > month_end(date(as_of.year, as_of.month, 1)):
        raise ValueError(f"the period ends after the extract's as-of date ({as_of.isoformat()})")
    last = date(as_of.year, as_of.month, 1)
    first = first_month or request.board_month
    if not first <= request.board_month <= last:
        raise ValueError(
            f"board month {month_label(request.board_month)} is outside the extract "
            f"({month_label(first)} to {month_label(last)})"
        )


def build_profile(source: Source, request: Request) -> Profile:
    """Every figure of the DA problem profile for ``request``."""
    start, end, scope = request.start, request.end, request.scope
    first_month = source.first_month or start
    check_request(request, source.as_of, first_month)

    crimes = _in_scope(source.crimes, scope)
    victimisations = _in_scope(source.victimisations, scope).filter(
        pl.col("person_type") == "individual"
    )
    links = _in_scope(source.da_links, scope)
    da_crimes = crimes.filter(pl.col("domestic_abuse"))
    da_victimisations = victimisations.filter(pl.col("domestic_abuse"))
    populations, ipv_index = _populations(victimisations, da_victimisations, links)
    conc = _concentrations(populations, start, end)
    reps = {
        name: repeats(name, events, start, end, source.as_of)
        for name, events in populations.items()
    }
    reps["ipv_perpetrators"] = repeats(
        "ipv_perpetrators",
        populations["perpetrators"],
        start,
        end,
        source.as_of,
        index_events=ipv_index,
    )

    da_in_period = _in_period(da_crimes, start, end)
    da_v_in_period = _in_period(da_victimisations, start, end)
    perpetrator_rows = _in_period(links, start, end).unique(["offender_id", "crime_id"])
    profile = Profile(
        meta=_meta(source, request, first_month, conc, da_in_period, crimes),
        concentration=conc,
        repeats=reps,
        serial=_serial(source.da_links, populations["perpetrators"], start, end),
        escalation=escalation(links, start, end, source.as_of),
        trend=monthly_trend(da_crimes, first_month, date(end.year, end.month, 1)),
        places={
            "area": by_place(da_in_period, "area"),
            "district": by_place(da_in_period, "district_name"),
            "neighbourhood": by_place(da_in_period, "neighbourhood_name").head(TOP_NEIGHBOURHOODS),
        },
        relationship=by_relationship(da_in_period),
        victim_age_sex=by_age_sex(da_v_in_period, "age_band", "sex"),
        perpetrator_age_sex=by_age_sex(perpetrator_rows, "offender_age_band", "offender_sex"),
        dash=dash_mix(da_v_in_period),
        overlap=_overlap(source, victimisations, da_v_in_period, start, end),
        outcomes=outcome_mix(da_in_period),
        outcome_rate=prosecution_possible_rate(da_in_period["outcome_code"]),
        over_recording=over_recording(
            source.victimisations,
            source.suspects,
            crimes,
            start,
            end,
            request.duplicate_days,
            request.duplicate_groups,
            source.duplicates_truth,
        ),
        board=board_table(
            crimes,
            request.board_month,
            first_month,
            scope.label or "force-wide",
            request.year_end_month,
        ),
        caveats=_caveats(source, request, first_month, crimes),
    )
    profile.readings = readings.all_readings(profile)
    return profile


def _populations(
    victimisations: pl.DataFrame, da_victimisations: pl.DataFrame, links: pl.DataFrame
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The events of each population (counted crimes only, as the lists count them), and the
    intimate-partner crimes that index the IPV perpetrators' follow-up."""
    populations = {
        "victims": _events(victimisations, pl.col("person_id")),
        "da_victims": _events(da_victimisations, pl.col("person_id")),
        "dyads": _events(links, pl.concat_str("offender_id", "victim_id", separator="|")).unique(
            ["unit", "crime_id"]
        ),
        "perpetrators": _events(links, pl.col("offender_id")).unique(["unit", "crime_id"]),
    }
    ipv_index = (
        links.filter(pl.col("da_relationship").is_in(["intimate_partner", "ex_partner"]))
        .pipe(_events, pl.col("offender_id"))
        .unique(["unit", "crime_id"])
    )
    return populations, ipv_index


def _concentrations(
    populations: dict[str, pl.DataFrame], start: date, end: date
) -> dict[str, Concentration]:
    """How concentrated each population's harm and crime counts are in the period."""
    conc: dict[str, Concentration] = {}
    for name, events in populations.items():
        harm, counts, n_events = _per_unit(_in_period(events, start, end))
        conc[f"{name}_harm"] = concentration(name, "harm", harm.to_numpy(), n_events)
        conc[f"{name}_count"] = concentration(name, "count", counts.to_numpy(), n_events)
    return conc


def _overlap(
    source: Source,
    victimisations: pl.DataFrame,
    da_v_in_period: pl.DataFrame,
    start: date,
    end: date,
) -> dict[str, Any]:
    """The victim-offender overlap of DA victims and of victims of violence."""
    suspects_ever = source.suspects.filter(pl.col("recorded_date") <= source.as_of)
    violence_v = _in_period(victimisations, start, end).filter(is_violence(pl.col("ho_code")))
    n_da, also_da, share_da = overlap(da_v_in_period, suspects_ever)
    n_vi, also_vi, share_vi = overlap(violence_v, suspects_ever)
    return {
        "da_victims": n_da,
        "da_victims_also_suspects": also_da,
        "da_share": share_da,
        "violence_victims": n_vi,
        "violence_victims_also_suspects": also_vi,
        "violence_share": share_vi,
    }


def _meta(
    source: Source,
    request: Request,
    first_month: date,
    conc: dict[str, Concentration],
    da_in_period: pl.DataFrame,
    crimes: pl.DataFrame,
) -> dict[str, Any]:
    """What the profile is of (source, scope, period, settings) and its headline counts."""
    return {
        "title": "Domestic abuse problem profile",
        "synthetic": source.duplicates_truth is not None,
        "force": source.force,
        "scope": request.scope.label or "force-wide",
        "period": request.period_label,
        "period_start": request.start,
        "period_end": request.end,
        "months": request.months,
        "board_month": month_label(request.board_month),
        "as_of": source.as_of,
        "run_id": source.run_id,
        "weights": source.weights,
        "window_months": source.policy.window_months,
        "extract_from": month_label(first_month),
        "duplicate_days": request.duplicate_days,
        "year_end_month": request.year_end_month,
        "chi_version": __version__,
        "da_crimes": da_in_period.height,
        "da_harm": float(da_in_period["weight"].fill_null(0).sum()),
        "da_victims": conc["da_victims_harm"].units,
        "dyads": conc["dyads_harm"].units,
        "perpetrators": conc["perpetrators_harm"].units,
        "crimes": _in_period(crimes, request.start, request.end).height,
    }


def _serial(
    all_links: pl.DataFrame, perp_events: pl.DataFrame, start: date, end: date
) -> dict[str, Any]:
    """DA perpetrators of the period (in scope) with two or more DA victims, force-wide, in
    the 36 months ending with the period's end."""
    active = _in_period(perp_events, start, end).select(offender_id="unit").unique()
    window_start = add_months(date(end.year, end.month, 1), 1 - SERIAL_MONTHS)
    victims = (
        all_links.filter(pl.col("counted") & pl.col("recorded_date").is_between(window_start, end))
        .group_by("offender_id")
        .agg(victims=pl.col("victim_id").n_unique())
    )
    joined = active.join(victims, on="offender_id", how="left").with_columns(
        pl.col("victims").fill_null(0)
    )
    n = joined.height
    serial = int((joined["victims"] >= 2).sum()) if n else 0
    return {
        "perpetrators": n,
        "serial": serial,
        "share": serial / n if n else None,
        "window": f"{month_label(window_start)} to {month_label(end)}",
        "months": SERIAL_MONTHS,
    }


def _caveats(
    source: Source, request: Request, first_month: date, crimes: pl.DataFrame
) -> list[str]:
    out = [
        "Synthetic demonstration data: figures describe the generated extract, not a real force."
        if source.duplicates_truth is not None
        else "Figures are from police recorded crime: they describe what was reported and "
        "recorded, not all abuse.",
        "Harm is the Cambridge Crime Harm Index (days of custody a first offender would "
        "receive); offences with no matching weight add no harm but are counted.",
        "Repeat figures count repeats recorded by this force only; a victim or perpetrator "
        "known to other forces or agencies may repeat unseen.",
    ]
    gap = source.as_of - request.end
    if gap.days < 365:
        out.append(
            f"Follow-up after the period is {max(gap.days, 0)} days (to the extract's as-of "
            f"date, {source.as_of.isoformat()}): survival figures beyond that are not "
            "estimated, and recent crimes' outcomes are often still open."
        )
    if first_month > add_months(request.start, -SERIAL_MONTHS + 1):
        out.append(
            f"The extract starts in {month_label(first_month)}: history before it (a dyad's "
            "earlier incidents, a perpetrator's earlier victims) is not seen."
        )
    if not request.scope.force_wide:
        unknown = source.crimes.filter(
            pl.col("neighbourhood_code").is_null()
            & pl.col("recorded_date").is_between(request.start, request.end)
        ).height
        out.append(
            f"An area profile counts crimes that happened in the area; {unknown:,} crimes in "
            "the period with no known location are counted force-wide only."
        )
    if crimes.filter(pl.col("basis") == "unmatched").height:
        out.append(
            "Some crimes have offence codes with no weight (listed in the run's data-quality "
            "report): they count as crimes but add no harm."
        )
    return out
