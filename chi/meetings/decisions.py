"""Area meeting decisions: what the meeting decided for each listed person, kept for good.

The monthly area meeting reviews its cohort (new entries, continuing people, exits) and
records a decision per person; months later the impact review asks whether the decisions
worked, so the record must be complete, unaltered and attributable. What is decided here:

- A decision is about a person on a list (``subject_type`` ``victim`` or ``offender``) at the
  meeting of one list month in one area: the meeting date, the decision (``DECISION_TYPES``),
  the service or partner, engagement dates, notes, an owner and a review date. ``problems``
  says what is wrong with one, in words without its personal content: a signpost or a
  referral names the service or partner; an engagement has a start and an end (not before
  the start) and an owner; "other" says what in the notes; a review date comes after the
  meeting; the meeting is not before the list month.
- Decisions live in the state store (``decisions`` table, migration 2 of ``chi.state.db``). A
  save appends version N+1 of the person's record; triggers refuse any update or delete and
  any version that does not follow the latest, so history cannot be rewritten.
- Optimistic concurrency: a save states the version it was based on. If someone else saved
  since, ``DecisionConflict`` says so and nothing is written; the editor reloads and saves
  on top. Two people at one meeting therefore never lose each other's work.
- Each save writes its audit entry in the same transaction (user, action, person id, list
  month, area, subject, decision type and version); notes, services and owners never go to
  the audit log or an error message.
- A person's *decision for a meeting* is the latest version with that list month; their
  *last decision* is the one for the latest meeting. Cohorts for tracking and for the impact
  review are read from the decisions for meetings (``cohort``).
- ``import_decisions`` loads a force's existing meeting records (CSV or Parquet, one row per
  decision): each row is validated, rejected rows are reported with their 1-based row number
  and reason, a row identical to what is already recorded is counted as unchanged, and
  read = imported + unchanged + rejected.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

import polars as pl

from chi import sql
from chi.months import month_label, parse_month
from chi.reference import policing_areas
from chi.state.audit import append_audit
from chi.state.db import timestamp, utc_now
from chi.state.store import Store

SUBJECT_TYPES = ("victim", "offender")
DECISION_TYPES: dict[str, str] = {
    "no_further_action": "No further action",
    "signpost": "Signpost to a service",
    "engagement": "Neighbourhood engagement",
    "referral": "Referral to MARAC or another partner",
    "matac": "Refer to MATAC (multi-agency tasking and coordination)",
    "iom": "Adopt onto Integrated Offender Management (IOM)",
    "dvpn_dvpo": "Apply for a DVPN / DVPO",
    "civil_order": "Seek a civil order (stalking protection, non-molestation, injunction)",
    "disruption": "Targeted disruption (warrants, licence conditions, bail checks)",
    "other": "Other",
}
# The decisions a meeting can take, by subject: victims are safeguarded and engaged; the
# offender panel decides perpetrator interventions.
SUBJECT_DECISIONS: dict[str, tuple[str, ...]] = {
    "victim": ("no_further_action", "signpost", "engagement", "referral", "other"),
    "offender": (
        "no_further_action",
        "matac",
        "iom",
        "dvpn_dvpo",
        "civil_order",
        "disruption",
        "other",
    ),
}
NEEDS_SERVICE = ("signpost", "referral", "civil_order")
NEEDS_OWNER = tuple(d for d in DECISION_TYPES if d != "no_further_action")
"""An owner for any action: every decision but no further action."""
DECIDED = (
    "decision",
    "service",
    "owner",
    "engagement_start",
    "engagement_end",
    "review_date",
    "notes",
)
"""The fields that say what was decided (the rest say who, when and where)."""


def applies(decision: str | None, field: str) -> bool:
    """Whether the form asks for ``field`` (service, owner, engagement, review) for a
    ``decision``: the service for a signpost, referral or civil order; an owner for any
    action; engagement dates for an engagement; a review date for anything but no further
    action. Notes always."""
    if decision is None:
        return False
    rules = {
        "service": decision in NEEDS_SERVICE,
        "owner": decision in NEEDS_OWNER,
        "engagement": decision == "engagement",
        "review": decision != "no_further_action",
    }
    return rules.get(field, True)


MAX_TEXT = {"service": 200, "owner": 100, "notes": 4000}
COHORT_HELP = "engaged, decision:TYPE or meeting:YYYY-MM"

_PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

COLUMNS = [
    "id",
    "subject_type",
    "person_id",
    "list_month",
    "area",
    "version",
    "meeting_date",
    "decision",
    "service",
    "engagement_start",
    "engagement_end",
    "notes",
    "owner",
    "review_date",
    "recorded_by",
    "recorded_at",
    "source",
]
_DATES = ("meeting_date", "engagement_start", "engagement_end", "review_date")
SCHEMA: dict[str, Any] = {
    c: (pl.Int64 if c in ("id", "version") else pl.Date if c in _DATES else pl.String)
    for c in COLUMNS
}


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message names fields, never their content."""


class DecisionConflict(Exception):
    """Someone else saved a decision for the person after the version the save was based on."""

    def __init__(self, based_on: int, current: int) -> None:
        self.based_on = based_on
        self.current = current
        super().__init__(
            f"someone else saved a decision for this person (version {current}) after the "
            f"version you started from ({based_on}); reload it and save your change again"
        )


@dataclass(frozen=True)
class Decision:
    subject_type: str
    person_id: str
    list_month: str
    area: str
    meeting_date: date
    decision: str
    service: str = ""
    engagement_start: date | None = None
    engagement_end: date | None = None
    notes: str = ""
    owner: str = ""
    review_date: date | None = None

    def problems(self) -> list[str]:
        """What stops this decision being recorded (empty: nothing)."""
        out: list[str] = []
        if self.subject_type not in SUBJECT_TYPES:
            out.append(f"subject_type must be one of {', '.join(SUBJECT_TYPES)}")
        if not _PERSON_ID.fullmatch(self.person_id or ""):
            out.append("person_id must be 1-64 letters, digits and . _ / : -")
        if not _MONTH.fullmatch(self.list_month or ""):
            out.append("list_month must be YYYY-MM")
        elif self.meeting_date < parse_month(self.list_month):
            out.append("the meeting date is before the list month")
        areas = policing_areas()
        if self.area not in areas:
            out.append(f"area must be one of {', '.join(areas)}")
        allowed = SUBJECT_DECISIONS.get(self.subject_type, tuple(DECISION_TYPES))
        if self.decision not in allowed:
            out.append(f"decision must be one of {', '.join(allowed)}")
        if self.decision in NEEDS_SERVICE and not self.service.strip():
            what = {"signpost": "service signposted to", "civil_order": "order sought"}.get(
                self.decision, "partner"
            )
            out.append(f"a {self.decision.replace('_', ' ')} needs the {what} (service)")
        if self.decision in NEEDS_OWNER and not self.owner.strip():
            out.append(f"a {self.decision.replace('_', ' ')} needs an owner")
        if self.decision == "engagement":
            if self.engagement_start is None or self.engagement_end is None:
                out.append("an engagement needs a start and an end date")
            elif self.engagement_end < self.engagement_start:
                out.append("the engagement ends before it starts")
        elif self.engagement_start is not None or self.engagement_end is not None:
            out.append("engagement dates belong to an engagement decision only")
        if self.decision == "other" and not self.notes.strip():
            out.append("an 'other' decision needs notes saying what")
        if self.review_date is not None and self.review_date <= self.meeting_date:
            out.append("the review date must be after the meeting date")
        for name, most in MAX_TEXT.items():
            if len(getattr(self, name)) > most:
                out.append(f"{name} is longer than {most} characters")
        return out

    def validated(self) -> Decision:
        found = self.problems()
        if found:
            raise DecisionError("; ".join(found))
        return self

    def row(self) -> dict[str, Any]:
        """The stored form: dates as ISO text."""
        out = asdict(self)
        for k in _DATES:
            out[k] = None if out[k] is None else out[k].isoformat()
        return out


@dataclass(frozen=True)
class SavedDecision:
    decision: Decision
    version: int
    recorded_by: str
    recorded_at: str
    source: str


_FIELDS = [f.name for f in fields(Decision)]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any, name: str, problems: list[str]) -> date | None:
    """A date from a date, ``YYYY-MM-DD`` (a midnight time is allowed) or ``DD/MM/YYYY``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        if m := _UK_DATE.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if len(text) > 10 and text[10:].strip(" T") in ("00:00:00", "00:00", "00:00:00.000"):
            text = text[:10]
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} is not a date (YYYY-MM-DD or DD/MM/YYYY)")
        return None


def parse_decision(row: Mapping[str, Any]) -> Decision:
    """A decision from text or typed values (a form, a CSV row, a Parquet row).

    ``index_month`` is accepted for ``list_month`` (the generator's truth file); the subject
    type defaults to ``victim``; area and codes are matched without regard to case.
    """
    problems: list[str] = []
    month = _text(row.get("list_month") or row.get("index_month"))
    meeting = _date(row.get("meeting_date"), "meeting_date", problems)
    if meeting is None and not problems:
        problems.append("meeting_date is missing")
    area = _text(row.get("area")).title()
    decision = Decision(
        subject_type=_text(row.get("subject_type")).lower() or "victim",
        person_id=_text(row.get("person_id")),
        list_month=month,
        area=area,
        meeting_date=meeting or date(1, 1, 1),
        decision=_text(row.get("decision")).lower().replace(" ", "_"),
        service=_text(row.get("service")),
        engagement_start=_date(row.get("engagement_start"), "engagement_start", problems),
        engagement_end=_date(row.get("engagement_end"), "engagement_end", problems),
        notes=_text(row.get("notes")),
        owner=_text(row.get("owner")),
        review_date=_date(row.get("review_date"), "review_date", problems),
    )
    if meeting is not None:
        problems += decision.problems()
    else:
        problems += [p for p in decision.problems() if "meeting date" not in p]
    if problems:
        raise DecisionError("; ".join(problems))
    return decision


# Writing.


def latest_version_in(con: sqlite3.Connection, subject_type: str, person_id: str) -> int:
    """The person's latest version inside an open transaction (0 when none)."""
    (v,) = sql.sqlite(
        con,
        "state/decision_latest_version",
        {"subject_type": subject_type, "person_id": person_id},
    ).fetchone()
    return int(v)


def append_version(
    con: sqlite3.Connection,
    d: Decision,
    version: int,
    recorded_by: str,
    at: str,
    source: str,
    action: str,
) -> None:
    """Write version ``version`` of ``d`` and its audit entry, inside an open transaction."""
    row = d.row()
    values = {k: row[k] for k in _FIELDS}
    saved = {"version": version, "recorded_by": recorded_by, "recorded_at": at, "source": source}
    sql.sqlite(con, "state/decision_append", {**values, **saved})
    append_audit(
        con,
        at=at,
        username=recorded_by,
        action=action,
        month=d.list_month,
        scope=d.area,
        person_id=d.person_id,
        detail=_detail(d, version),
    )


def _detail(d: Decision, version: int) -> str:
    return f"{d.subject_type} {d.decision} v{version}"


def save_decision(
    store: Store,
    decision: Decision,
    *,
    based_on: int,
    recorded_by: str,
    source: str = "app",
    now: datetime | None = None,
) -> SavedDecision:
    """Append a version of the person's decision record, with its audit entry.

    ``based_on`` is the version the editor started from (0 when the person had none). When
    it is not the latest any more, nothing is written and ``DecisionConflict`` is raised.
    """
    decision = decision.validated()
    at = timestamp(utc_now(now))
    with store.transaction() as con:
        current = latest_version_in(con, decision.subject_type, decision.person_id)
        if current != based_on:
            raise DecisionConflict(based_on, current)
        append_version(con, decision, current + 1, recorded_by, at, source, "decision_saved")
    return SavedDecision(decision, current + 1, recorded_by, at, source)


# Reading.


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict(zip(COLUMNS, r, strict=True)) for r in rows],
        schema={c: (pl.String if c in _DATES else t) for c, t in SCHEMA.items()},
    )
    return frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d") for c in _DATES)


def _select(
    store: Store, subject_type: str | None = None, person_id: str | None = None
) -> pl.DataFrame:
    with store.connection() as con:
        return _select_in(con, subject_type, person_id)


def _select_in(
    con: sqlite3.Connection, subject_type: str | None = None, person_id: str | None = None
) -> pl.DataFrame:
    """Every saved version (of ``subject_type`` and ``person_id`` when given), in order."""
    params = {"subject_type": subject_type, "person_id": person_id}
    return _frame(sql.sqlite(con, "state/decisions", params).fetchall())


def current_version(store: Store, subject_type: str, person_id: str) -> int:
    """The person's latest version number (0: no decision recorded yet)."""
    with store.connection() as con:
        return latest_version_in(con, subject_type, person_id)


def history(store: Store, subject_type: str, person_id: str) -> pl.DataFrame:
    """Every version of one person's decisions, newest first."""
    frame = _select(store, subject_type, person_id)
    return frame.sort("version", descending=True)


def _only(frame: pl.DataFrame, person_ids: Iterable[str] | None, area: str | None) -> pl.DataFrame:
    if person_ids is not None:
        frame = frame.filter(
            pl.col("person_id").is_in(pl.Series(list(person_ids), dtype=pl.String).implode())
        )
    if area is not None:
        frame = frame.filter(pl.col("area") == area)
    return frame


def meeting_decisions(store: Store, subject_type: str) -> pl.DataFrame:
    """Each person's decision for each meeting: the latest version per list month."""
    frame = _select(store, subject_type)
    return (
        frame.sort("version", descending=True)
        .unique(["person_id", "list_month"], keep="first")
        .sort(["list_month", "area", "person_id"])
    )


def latest(
    store: Store,
    subject_type: str,
    person_ids: Iterable[str] | None = None,
    area: str | None = None,
    before: str | None = None,
) -> pl.DataFrame:
    """Each person's last decision: the decision for the latest meeting they were discussed
    at (a later correction of an older meeting does not replace it); with ``before``, the
    last decision at a meeting for an earlier list month than that."""
    frame = meeting_decisions(store, subject_type)
    if before is not None:
        frame = frame.filter(pl.col("list_month") < before)
    last = frame.sort(["list_month", "version"], descending=True).unique("person_id", keep="first")
    return _only(last, person_ids, area).sort("person_id")


def for_meeting(
    store: Store, subject_type: str, list_month: str, area: str | None = None
) -> pl.DataFrame:
    """The decisions made for one list month's meeting (latest version per person)."""
    frame = meeting_decisions(store, subject_type).filter(pl.col("list_month") == list_month)
    return _only(frame, None, area).sort("person_id")


def actions_due(store: Store, subject_type: str, by: date, area: str | None = None) -> pl.DataFrame:
    """People whose last decision has a review date on or before ``by``, soonest first."""
    due = latest(store, subject_type, area=area).filter(pl.col("review_date") <= by)
    return due.sort(["review_date", "person_id"])


def cohort(store: Store, spec: str, subject_type: str = "victim") -> pl.DataFrame:
    """The people a cohort ``spec`` names, with ``index_month`` (the list month of the
    meeting that put them in it) and ``start_month`` (when the action began: the engagement's
    start, else the meeting date); one row per person, at their first such meeting.

    ``engaged``: given neighbourhood engagement; ``decision:TYPE``: given TYPE;
    ``meeting:YYYY-MM``: every person with a decision at that month's meeting.
    """
    frame = meeting_decisions(store, subject_type)
    kind, _, arg = spec.partition(":")
    if kind == "engaged" and not arg:
        chosen = frame.filter(pl.col("decision") == "engagement")
    elif kind == "decision" and arg in DECISION_TYPES:
        chosen = frame.filter(pl.col("decision") == arg)
    elif kind == "meeting" and _MONTH.fullmatch(arg):
        chosen = frame.filter(pl.col("list_month") == month_label(parse_month(arg)))
    else:
        raise ValueError(f"unknown cohort {spec!r}: use {COHORT_HELP}")
    start = pl.coalesce("engagement_start", "meeting_date").dt.strftime("%Y-%m")
    return (
        chosen.sort(["list_month", "version"])
        .unique("person_id", keep="first")
        .select("person_id", pl.col("list_month").alias("index_month"), start.alias("start_month"))
        .sort(["index_month", "person_id"])
    )


def recorded_fingerprints(con: sqlite3.Connection) -> set[tuple[Any, ...]]:
    """Every recorded version as its field values, read inside an open transaction."""
    return {fingerprint(decision_from_saved(r)) for r in _select_in(con).iter_rows(named=True)}


def fingerprint(d: Decision) -> tuple[Any, ...]:
    """A decision's field values, so two versions that say the same compare equal."""
    row = d.row()
    return tuple(row[k] or "" for k in _FIELDS)


def decision_from_saved(row: Mapping[str, Any]) -> Decision:
    """The ``Decision`` of a stored row (a row of any frame read here)."""
    values = {k: row[k] for k in _FIELDS}
    for k in MAX_TEXT:
        values[k] = values[k] or ""
    return Decision(**values)
