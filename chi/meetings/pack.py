"""The area meeting's cohort and its pack, without Streamlit: what the Meeting page shows.

A meeting works through one list month's cohort for its area in a fixed order: **new**
entries first (the people the meeting has not discussed), then **continuing** people with
their last decision and whether its review is due, then **exits** (people on last month's
list who have left it, and why). ``cohort`` builds that table from frames the page has
already read under the user's scope, joined to the decisions in the state store, so it is
tested without the app. ``meeting_pack`` renders the cohort, this meeting's decisions and
the actions due as XLSX or PDF and writes the audit entry as it is made, as every download
from the app does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import polars as pl

from chi.exports.downloads import DownloadGate
from chi.exports.formats import Document, ExportMeta, export, export_format
from chi.meetings.decisions import DECIDED, DECISION_TYPES, history, meeting_decisions
from chi.reading.lists import area_scope
from chi.scoring.runs import Run
from chi.state.auth import User
from chi.state.store import Store

SECTIONS = {"new": "New", "continuing": "Continuing", "exited": "Exited"}
PACK_FORMATS = {f: export_format(f).media_type for f in ("xlsx", "pdf")}
"""The formats a meeting pack is made in (a pack is several tables: no CSV), media types."""
SUBJECT_TITLES = {"victim": "Victim meeting", "offender": "High-harm offender panel"}

# The pack's columns and readable headers (the words of the meeting page).
_PACK_COLUMNS = {
    "neighbourhood_name": "Neighbourhood",
    "rank": "Force rank",
    "name": "Name",
    "person_id": "Person id",
    "harm_days": "Harm (days)",
    "crimes": "Crimes",
    "reasons": "Reasons or why exited",
    "last_decision": "Last decision",
    "review_due": "Review due",
    "decision": "This meeting",
    "service": "Service",
    "owner": "Owner",
    "engagement": "Engagement",
    "review_date": "Review date",
    "notes": "Notes",
}
_DUE_COLUMNS = {
    "person_id": "Person id",
    "name": "Name",
    "list_month": "List month",
    "decision": "Decision",
    "service": "Service",
    "owner": "Owner",
    "engagement_end": "Engagement ends",
    "review_date": "Review date",
}


def label(decision: str | None) -> str:
    return DECISION_TYPES.get(decision or "", decision or "")


def _text_reasons(frame: pl.DataFrame) -> pl.Expr:
    if "reasons" in frame.columns and frame.schema["reasons"] == pl.List(pl.String):
        return pl.col("reasons").list.eval(pl.element().str.replace_all("_", " ")).list.join(", ")
    return pl.lit("").alias("reasons")


def area_decisions(store: Store, subject_type: str, area: str) -> pl.DataFrame:
    """Each person's decision for each meeting of ``area`` only: what that area's meeting
    may see. A person who moved from another area's list arrives with no decision, notes,
    service or owner of that area."""
    return meeting_decisions(store, subject_type).filter(pl.col("area") == area)


def area_history(store: Store, subject_type: str, person_id: str, area: str) -> pl.DataFrame:
    """Every version of one person's decisions recorded by ``area``'s meetings, newest first."""
    return history(store, subject_type, person_id).filter(pl.col("area") == area)


def cohort(
    listed: pl.DataFrame,
    exits: pl.DataFrame,
    store: Store,
    subject_type: str,
    month: str,
    meeting_date: date,
    area: str,
) -> pl.DataFrame:
    """The month's cohort in meeting order, with this meeting's decision and the last one.

    ``listed``: the month's list within the scope (person_id, name, neighbourhood_name,
    rank, harm_days, crimes, reasons, status); ``exits``: last month's people within the
    scope who left it (person_id, name, neighbourhood_name, previous_rank, harm_days,
    crimes, reason). Decisions are those of ``area``'s meetings only. Columns: section,
    person_id, name, neighbourhood_name, rank, harm_days, crimes, reasons, the last
    decision before this meeting (last_decision, last_month, last_review_date, review_due)
    and this meeting's (decision, service, owner, engagement_start, engagement_end,
    review_date, notes, version).
    """
    on_list = listed.select(
        pl.col("status").alias("section"),
        "person_id",
        "name",
        "neighbourhood_name",
        "rank",
        pl.col("harm_days").cast(pl.Float64),
        pl.col("crimes").cast(pl.Int64),
        _text_reasons(listed).alias("reasons"),
    )
    gone = exits.select(
        pl.lit("exited").alias("section"),
        "person_id",
        "name",
        "neighbourhood_name",
        pl.col("previous_rank").alias("rank"),
        pl.col("harm_days").cast(pl.Float64),
        pl.col("crimes").cast(pl.Int64),
        pl.col("reason").alias("reasons"),
    )
    people = pl.concat([on_list, gone.cast(on_list.schema)])
    ids = people["person_id"].to_list()
    decided = area_decisions(store, subject_type, area)
    before = (
        decided.filter(
            (pl.col("list_month") < month)
            & pl.col("person_id").is_in(pl.Series(ids, dtype=pl.String).implode())
        )
        .sort(["list_month", "version"], descending=True)
        .unique("person_id", keep="first")
    ).select(
        "person_id",
        pl.col("decision").alias("last_decision"),
        pl.col("list_month").alias("last_month"),
        pl.col("review_date").alias("last_review_date"),
    )
    now = (
        decided.filter(pl.col("list_month") == month)
        .filter(pl.col("person_id").is_in(pl.Series(ids, dtype=pl.String).implode()))
        .select("person_id", *DECIDED, "version")
    )
    order = {s: i for i, s in enumerate(SECTIONS)}
    return (
        people.join(before, on="person_id", how="left")
        .join(now, on="person_id", how="left")
        .with_columns(
            (pl.col("last_review_date") <= meeting_date).fill_null(False).alias("review_due"),
            pl.col("section").replace_strict(order, return_dtype=pl.Int32).alias("_order"),
        )
        .sort("_order", "rank", "person_id")
        .drop("_order")
    )


def agenda(frame: pl.DataFrame, new_limit: int | None = None) -> pl.DataFrame:
    """The people the meeting has to discuss: the new entries (the first ``new_limit`` by
    rank, when given and not 0, and any already decided on); continuing people whose review
    is due or who have been decided on at this meeting; exits with a decision to close."""
    decided = pl.col("decision").is_not_null()
    new = pl.col("section") == "new"
    if new_limit:
        place = pl.col("rank").rank("ordinal").over(new.cast(pl.Int8))
        new = new & ((place <= new_limit) | decided)
    return frame.filter(
        new
        | ((pl.col("section") == "continuing") & (pl.col("review_due") | decided))
        | ((pl.col("section") == "exited") & (pl.col("last_decision").is_not_null() | decided))
    )


def decision_words(column: str = "decision") -> pl.Expr:
    """A decision type in words (an unknown type as it is)."""
    return pl.col(column).replace_strict(DECISION_TYPES, default=pl.col(column))


def last_decision_words() -> pl.Expr:
    """``last_decision`` in words with its month (``Referred to MARAC (2024-05)``), blank
    for someone never decided on."""
    return (
        pl.when(pl.col("last_decision").is_null())
        .then(pl.lit(""))
        .otherwise(decision_words("last_decision") + " (" + pl.col("last_month") + ")")
        .alias("last_decision")
    )


def pack_frames(frame: pl.DataFrame, due: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """The pack's sections: the cohort by section (readable columns), then actions due."""
    shown = frame.with_columns(
        last_decision_words(),
        decision_words(),
        pl.when(pl.col("engagement_start").is_null())
        .then(pl.lit(""))
        .otherwise(
            pl.col("engagement_start").dt.strftime("%Y-%m-%d")
            + " to "
            + pl.col("engagement_end").dt.strftime("%Y-%m-%d")
        )
        .alias("engagement"),
    ).select(list(_PACK_COLUMNS))
    names = frame.select("person_id", "name").unique("person_id")
    due_shown = (
        due.join(names, on="person_id", how="left")
        .with_columns(decision_words())
        .select(list(_DUE_COLUMNS))
        .rename(_DUE_COLUMNS)
    )
    sections = [
        (title, shown.filter(frame["section"] == key).rename(_PACK_COLUMNS))
        for key, title in SECTIONS.items()
    ]
    return [*sections, ("Actions due", due_shown)]


def meeting_pack(
    store: Store,
    user: User,
    run: Run,
    subject_type: str,
    month: str,
    area: str,
    meeting_date: date,
    frame: pl.DataFrame,
    due: pl.DataFrame,
    fmt: str,
    marking: str,
    now: datetime | None = None,
    everyone: bool = False,
    gate: DownloadGate | None = None,
) -> bytes:
    """The meeting pack in ``fmt`` (xlsx or pdf), with its audit entry written as it is made.

    ``frame`` is the cohort as shown: the agenda, or with ``everyone`` the whole cohort."""
    export_format(fmt, PACK_FORMATS)
    if gate is not None:
        gate.check(user, area_scope(area), "meeting_pack_download", run_id=run.run_id, month=month)
    meta = replace(
        ExportMeta.from_manifest(
            run.manifest,
            title=f"{SUBJECT_TITLES[subject_type]} pack",
            month=month,
            scope=f"{area} area",
            exported_by=user.username,
            exported_at=now or datetime.now(),
        ),
        marking=marking,
    )
    sections = pack_frames(frame, due)
    if fmt == "pdf":
        shown = (
            "the whole cohort"
            if everyone
            else "the agenda (new entries; continuing people whose review is due or who were "
            "decided on; exits with a decision to close)"
        )
        intro = (
            f"Meeting date {meeting_date.isoformat()}. This pack holds {shown}: new entries "
            "first, then continuing people with their last decision and whether its review is "
            "due, then people who left the list since last month; actions due are reviews due "
            "by the meeting date. Notes are in the XLSX pack only."
        )
        printed = [(t, f.drop("Notes") if "Notes" in f.columns else f) for t, f in sections]
        doc = Document(sections=tuple(printed), intro=intro)
    else:
        doc = Document(sections=tuple(sections))
    data = export(doc, meta, fmt)
    store.record(
        user.username,
        "meeting_pack_download",
        run_id=run.run_id,
        month=month,
        scope=area,
        rows=frame.height,
        detail=f"{subject_type} {fmt}{' everyone' if everyone else ''}",
    )
    return data
