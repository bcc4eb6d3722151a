"""The list policy: what a force decides, as opposed to what the data says.

A policy (window length, thresholds, weight set, the historic-offence rule, the offender
list's thresholds and its recency-frequency-gravity weights) comes from the defaults below,
then an optional ``chi.toml`` ``[policy]`` table, then command-line flags; flags win. Every
run records its policy in the manifest, so a run can be reproduced from the manifest alone.

Defaults, and why:

- ``window_months = 12``: the contract's default; Cambridgeshire reviews the last 12 months.
- ``min_harm = 365`` days: one year of custody-equivalent harm in the window, the level of a
  single serious offence (robbery, GBH with intent starts far above it; an ABH is 10 days),
  which keeps the force-wide list to the few per cent of victims who hold most of the harm.
- ``min_crimes = 3``: three victimisations in 12 months, the usual repeat-victim threshold in
  English forces' vulnerability and ASB-risk practice, so low-harm but frequent repeats are
  seen too.
- ``weights = "chi2020"``: the Cambridge Crime Harm Index 2020 values (the contract default).
- ``historic_months = None``: no historic-offence rule unless a force asks for one; when set,
  crimes that occurred more than N months before they were recorded are flagged, and
  ``historic_counted`` says whether they still count towards harm and crimes.
- ``class_rule = "lowest"``: a crime that carries only its Home Office class/subclass is
  weighted at the class's lowest weight, the contract's conservative rule (a list never
  overstates harm). ``"typical"`` is the documented alternative: the weight of the class's
  typical offence (the most recorded offence code within it in published recorded crime;
  ``data/offences/class_typical.csv``). The data quality page says how much harm and how many
  listed people depend on the choice.
- Offender list: ``offender_min_harm = 365`` and ``offender_min_crimes = 3`` for the same
  reasons as the victim list.
- Recency-frequency-gravity (RFG) weights ``1, 1, 2``: gravity (harm) counts double, as
  harm-focused offender management (e.g. MATAC) weights seriousness above volume. See
  ``sql/lists/offender_list.sql`` for the score.
- ``timezone = "Europe/London"``: forces in England and Wales; a timestamp with a time zone
  in an extract becomes the date it was in this zone, whatever the machine's zone.
- ``list_size = 20``: the people per neighbourhood a team is asked to act on each month (the
  rest of the list stays one click away); 0 means no limit. Why 20 is in docs/scoring.md.
- ``specialist_teams``: offence groups (``chi.offences``) whose victims belong to a
  specialist team (child sexual abuse and exploitation to child protection; rape and serious
  sexual offences to the sexual-offences unit). A listed victim is the team's when their
  other crimes would not list them; ``specialist_rule`` says whether such people are shown
  on neighbourhood lists flagged with the team (``flag``, the default, so nobody vanishes),
  left off them (``exclude``), or treated like anyone else (``none``). They never take one
  of the ``list_size`` places.
- ``agenda_new = 15``: the new entries an area meeting's agenda opens with (reviews due and
  exits follow); the rest of the cohort is one click away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chi.offences import resolve
from chi.reference import DEFAULT_WEIGHTS
from chi.settings import local_settings

CLASS_RULES = ("lowest", "typical")
"""How a crime with only its Home Office class is weighted: the class's lowest weight (the
contract's rule, the default) or the weight of its typical offence."""
SPECIALIST_RULES = ("flag", "exclude", "none")
DEFAULT_SPECIALIST_TEAMS: tuple[tuple[str, str], ...] = (
    ("child_sexual_abuse_exploitation", "Child protection team"),
    ("rape", "Rape and serious sexual offences team"),
    ("serious_sexual_offences", "Rape and serious sexual offences team"),
)


def _teams(raw: Any) -> tuple[tuple[str, str], ...]:
    """``{group: team}`` (a TOML table, in priority order) or a list of pairs."""
    items = raw.items() if isinstance(raw, dict) else raw
    if not isinstance(items, Iterable) or isinstance(items, str):
        raise TypeError
    out = []
    for pair in items:
        group, team = pair
        if not isinstance(group, str) or not isinstance(team, str):
            raise TypeError
        out.append((group, team))
    return tuple(out)


@dataclass(frozen=True)
class Policy:
    window_months: int = 12
    min_harm: Decimal = Decimal("365")
    min_crimes: int = 3
    weights: str = DEFAULT_WEIGHTS
    historic_months: int | None = None
    historic_counted: bool = True
    class_rule: str = "lowest"
    offender_min_harm: Decimal = Decimal("365")
    offender_min_crimes: int = 3
    rfg_recency: float = 1.0
    rfg_frequency: float = 1.0
    rfg_gravity: float = 2.0
    timezone: str = "Europe/London"
    """The force's time zone: a timestamp with a zone in an extract becomes its date here."""

    list_size: int = 20
    specialist_rule: str = "flag"
    specialist_teams: tuple[tuple[str, str], ...] = DEFAULT_SPECIALIST_TEAMS
    agenda_new: int = 15

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"timezone {self.timezone!r} is not an IANA time zone") from None
        if self.list_size < 0 or self.agenda_new < 0:
            raise ValueError("list_size and agenda_new must be zero (no limit) or more")
        if self.specialist_rule not in SPECIALIST_RULES:
            raise ValueError(
                f"specialist_rule must be one of {', '.join(SPECIALIST_RULES)}, "
                f"not {self.specialist_rule!r}"
            )
        resolve(g for g, _ in self.specialist_teams)
        if any(not team.strip() for _, team in self.specialist_teams):
            raise ValueError("every specialist offence group needs the name of its team")
        if not 1 <= self.window_months <= 120:
            raise ValueError(f"window_months must be 1..120, not {self.window_months}")
        if self.min_harm < 0 or self.offender_min_harm < 0:
            raise ValueError("harm thresholds must be zero or more")
        if self.min_crimes < 1 or self.offender_min_crimes < 1:
            raise ValueError("crime-count thresholds must be at least 1")
        if self.historic_months is not None and self.historic_months < 0:
            raise ValueError("historic_months must be zero or more")
        if self.class_rule not in CLASS_RULES:
            raise ValueError(
                f"class_rule must be one of {', '.join(CLASS_RULES)}, not {self.class_rule!r}"
            )
        if min(self.rfg_recency, self.rfg_frequency, self.rfg_gravity) < 0 or (
            self.rfg_recency + self.rfg_frequency + self.rfg_gravity == 0
        ):
            raise ValueError("RFG weights must be non-negative and not all zero")

    def as_manifest(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("min_harm", "offender_min_harm"):
            out[k] = str(out[k])
        out["specialist_teams"] = dict(self.specialist_teams)
        out["exclusions"] = (
            []
            if self.historic_months is None or self.historic_counted
            else [f"crimes occurring more than {self.historic_months} months before recording"]
        )
        return out

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> Policy:
        return cls.from_mapping({k: v for k, v in data.items() if k != "exclusions"})

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base: Policy | None = None) -> Policy:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - known.keys())
        if unknown:
            raise ValueError(f"unknown policy setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if raw is None:
                values[key] = None
                continue
            default = getattr(cls(), key)
            try:
                if key == "specialist_teams":
                    values[key] = _teams(raw)
                    continue
                if isinstance(default, Decimal):
                    values[key] = Decimal(str(raw))
                elif isinstance(default, bool):
                    if not isinstance(raw, bool):
                        raise TypeError
                    values[key] = raw
                elif isinstance(default, float):
                    values[key] = float(raw)
                elif isinstance(default, str):
                    values[key] = str(raw)
                else:
                    values[key] = int(raw)
            except (TypeError, ValueError, InvalidOperation):
                raise ValueError(f"policy setting {key} = {raw!r} is not valid") from None
        return replace(base or cls(), **values)


def load_policy(config: Path | None = None, **overrides: Any) -> Policy:
    """Defaults, then ``[policy]`` of ``chi.toml`` (``config``, else ``./chi.toml`` if there is
    one; read by :mod:`chi.settings`), then the overrides."""
    settings = local_settings(config)
    try:
        policy = Policy.from_mapping(dict(settings.policy))
    except ValueError as exc:
        raise ValueError(f"{settings.source}: [policy] {exc}") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    return Policy.from_mapping(given, policy) if given else policy
