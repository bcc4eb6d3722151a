"""The area meeting page (area and analyst roles): the month's cohort for one area, fast
entry of decisions, each person's decision history, actions due and the meeting pack; the
same for the high-harm offender panel.

The cohort comes from the lists within the user's scope (an area user's own area; an
analyst picks one), in meeting order: new entries, continuing people with their last
decision and whether its review is due, then exits. Decisions are saved from a form per
person (keyboard: Tab between fields, Ctrl+Enter saves, Alt+Left/Right move between
people) through ``chi.meetings.decisions``: each save states the version the form was opened on, so
a decision saved meanwhile by someone else is never overwritten; the form says so and keeps
what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from chi.app import data
from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import (
    current_run,
    download_row,
    guarded,
    partial_notice,
    pick_month,
    require,
    run_caption,
    table_height,
)
from chi.meetings.decisions import (
    DECIDED,
    DECISION_TYPES,
    SUBJECT_DECISIONS,
    Decision,
    DecisionConflict,
    DecisionError,
    actions_due,
    applies,
    current_version,
    save_decision,
)
from chi.meetings.pack import (
    PACK_FORMATS,
    SUBJECT_TITLES,
    agenda,
    area_history,
    cohort,
    decision_words,
    label,
    last_decision_words,
    meeting_pack,
)
from chi.months import add_months, month_label, parse_month
from chi.reading.lists import Scope, area_scope
from chi.reference import policing_areas
from chi.scoring.runs import Run
from chi.state.auth import Role

TITLE = "Area meeting"
ICON = ":material/groups:"

SECTION_WORDS = {"new": "New", "continuing": "Continuing", "exited": "Exited"}
FLASH = "meeting_flash"
PERSON = "meeting_person"


def _area(ctx: PageContext) -> tuple[str, Scope]:
    """An area user's own area; an analyst chooses one."""
    if ctx.user.role is Role.AREA:
        assert ctx.user.area is not None
        return ctx.user.area, ctx.user.scope
    area = str(st.sidebar.selectbox("Area", policing_areas(), key="meeting_area"))
    return area, area_scope(area)


def render(ctx: PageContext) -> None:
    require(ctx, "meeting")
    with guarded(ctx):
        run = current_run(ctx, drafts=False)
        month = pick_month(run)
        area, scope = _area(ctx)
        first = parse_month(month)
        meeting_date = st.sidebar.date_input(
            "Meeting date",
            value=max(date.today(), first),
            min_value=first,
            key="meeting_date",
            format="YYYY-MM-DD",
        )
        subject = str(
            st.sidebar.segmented_control(
                "Meeting",
                list(SUBJECT_TITLES),
                default="victim",
                format_func={"victim": "Victims", "offender": "Offender panel"}.__getitem__,
                key="meeting_panel",
                required=True,
            )
        )
        _page(ctx, run, month, area, scope, subject, meeting_date)


def _lists(
    ctx: PageContext, run: Run, month: str, scope: Scope, subject: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(this month's list, last month's people who left it), within the scope."""
    if subject == "victim":
        restricted = tuple(ctx.config.restricted_groups) if ctx.user.masks_restricted else ()
        return data.victims(run, month, scope, restricted), data.exits(run, month, scope)
    listed = data.offenders(run, month, scope)
    previous = month_label(add_months(parse_month(month), -1))
    if previous not in run.manifest.months:
        before = listed.clear()
    else:
        before = data.offenders(run, previous, scope)
    gone = before.join(listed.select("person_id"), on="person_id", how="anti").select(
        "person_id",
        "name",
        "neighbourhood_code",
        "neighbourhood_name",
        pl.col("rank").alias("previous_rank"),
        "harm_days",
        "crimes",
        pl.lit("not on the offender list this month").alias("reason"),
    )
    return listed, gone


def _page(
    ctx: PageContext,
    run: Run,
    month: str,
    area: str,
    scope: Scope,
    subject: str,
    meeting_date: date,
) -> None:
    listed, exits = _lists(ctx, run, month, scope, subject)
    frame = cohort(listed, exits, ctx.store, subject, month, meeting_date, area)
    ctx.record_once(
        "meeting_view",
        run_id=run.run_id,
        month=month,
        scope=area,
        rows=frame.height,
        detail=subject,
    )
    st.title(f"{SUBJECT_TITLES[subject]}: {area} area, list month {month}")
    run_caption(run)
    partial_notice(run, month)
    counts = {s: frame.filter(pl.col("section") == s).height for s in SECTION_WORDS}
    due = frame.filter((pl.col("section") == "continuing") & pl.col("review_due")).height
    decided = frame.filter(pl.col("decision").is_not_null()).height
    previous = month_label(add_months(parse_month(month), -1))
    st.markdown(
        f"**{counts['new']}** new · **{counts['continuing']}** continuing "
        f"(**{due}** {'review' if due == 1 else 'reviews'} due) · **{counts['exited']}** "
        f"exited since {previous} · **{decided}** of {frame.height} decided for this meeting"
    )
    limit = int(run.manifest.policy.get("agenda_new", 0) or 0)
    on_agenda = agenda(frame, limit)
    everyone = (
        st.segmented_control(
            "Show",
            ["agenda", "everyone"],
            default="agenda",
            format_func={
                "agenda": f"Agenda ({on_agenda.height})",
                "everyone": f"Everyone ({frame.height})",
            }.__getitem__,
            key="meeting_show",
            required=True,
            help=f"The agenda: the {limit or 'all'} highest-ranked new entries (and any "
            "decided on); continuing people whose review is due or who have been decided on "
            "at this meeting; exits with a decision to close. Everyone: the whole cohort.",
        )
        == "everyone"
    )
    shown = frame if everyone else on_agenda
    if not everyone and counts["new"] > limit > 0:
        st.caption(
            f"The agenda opens with the {limit} highest-ranked of the {counts['new']} new "
            "entries (policy agenda_new); the others are under Everyone."
        )
    if shown.is_empty():
        st.info("Nobody in this area needs this meeting's attention for this month.")
    else:
        _cohort_table(shown)
        _decision_entry(ctx, shown, subject, month, area, meeting_date)
    _due_and_pack(ctx, run, shown, subject, month, area, meeting_date, everyone)


# Pixel widths: the chair's columns (name, this meeting's decision, review due) are in view
# at 1440 px (the browser test checks them).
COHORT_COLUMNS: dict[str, Any] = {
    "section": st.column_config.TextColumn("Section", width=90),
    "rank": st.column_config.NumberColumn(
        "Rank", help="Force rank (last month's, for exits)", width=55
    ),
    "name": st.column_config.TextColumn("Name", width=140),
    "neighbourhood_name": st.column_config.TextColumn("Neighbourhood", width=130),
    "harm_days": st.column_config.NumberColumn(
        "Harm", help="Harm in the window (days)", format="%.2f", width=70
    ),
    "crimes": st.column_config.NumberColumn("Crimes", width=60),
    "reasons": st.column_config.TextColumn("Reasons or why exited", width=160),
    "last_decision": st.column_config.TextColumn("Last decision", width=160),
    "review_due": st.column_config.CheckboxColumn("Due", help="Review due", width=45),
    "decision": st.column_config.TextColumn("This meeting", width=140),
}
KEY_COLUMNS = ("Name", "This meeting", "Due")


def _cohort_table(frame: pl.DataFrame) -> None:
    # The columns a chair needs (who, this meeting's decision, review due) come first.
    shown = frame.select(
        pl.col("section").replace_strict(SECTION_WORDS),
        "rank",
        "name",
        decision_words().fill_null(""),
        "review_due",
        last_decision_words(),
        "reasons",
        "harm_days",
        "crimes",
        "neighbourhood_name",
    )
    st.dataframe(
        shown,
        height=table_height(shown.height, most=420),
        hide_index=True,
        width="stretch",
        column_config=COHORT_COLUMNS,
        key="meeting_table",
    )


def _person_label(row: dict[str, Any]) -> str:
    mark = "  ✓ decided" if row["decision"] is not None else ""
    due = "  · review due" if row["review_due"] else ""
    who = f"{row['name'] or row['person_id']} ({row['person_id']})"
    return f"{SECTION_WORDS[row['section']]} · rank {row['rank']} · {who}{due}{mark}"


def _move(options: list[str], step: int) -> None:
    current = st.session_state.get(PERSON)
    i = options.index(current) if current in options else -1
    st.session_state[PERSON] = options[(i + step) % len(options)]


def _decision_entry(
    ctx: PageContext,
    frame: pl.DataFrame,
    subject: str,
    month: str,
    area: str,
    meeting_date: date,
) -> None:
    st.subheader("Record decisions")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        kind, text = flash
        # The message holds a name (data): shown with its Markdown characters escaped.
        (st.success if kind == "ok" else st.error)(md(text))
    rows = {r["person_id"]: r for r in frame.iter_rows(named=True)}
    options = list(rows)
    if st.session_state.get(PERSON) not in options:
        undecided = [p for p in options if rows[p]["decision"] is None]
        st.session_state[PERSON] = (undecided or options)[0]
    left, back, ahead = st.columns([5, 1.3, 1.1], vertical_alignment="bottom")
    with left:
        person_id = str(
            st.selectbox(
                "Person (type to search)",
                options,
                format_func=lambda p: _person_label(rows[p]),
                key=PERSON,
            )
        )
    back.button(
        "Previous", on_click=_move, args=(options, -1), shortcut="Alt+Left", key="meeting_prev"
    )
    ahead.button(
        "Next", on_click=_move, args=(options, 1), shortcut="Alt+Right", key="meeting_next"
    )
    row = rows[person_id]
    ctx.record_once("meeting_person_view", month=month, scope=area, person_id=person_id)
    st.text(
        f"{row['name'] or person_id} ({person_id}) · {row['neighbourhood_name']} · "
        f"harm {row['harm_days']:.2f} days · {row['crimes']} "
        f"{'crime' if row['crimes'] == 1 else 'crimes'} · {row['reasons']}"
    )
    if row["last_decision"] is not None:
        due = " · **review due**" if row["review_due"] else ""
        st.caption(
            f"Last decision ({md(row['last_month'])} meeting): {md(label(row['last_decision']))}, "
            f"review {md(row['last_review_date'] or 'not set')}{due}"
        )
    current = current_version(ctx.store, subject, person_id)
    base_key = f"meeting_base:{subject}:{person_id}"
    st.session_state[base_key] = current
    _form(ctx, row, subject, month, area, meeting_date, base_key, options)
    past = area_history(ctx.store, subject, person_id, area)
    with st.expander(f"Decision history at {area}'s meetings ({past.height})", expanded=False):
        if past.is_empty():
            st.write("No decision recorded yet.")
        else:
            st.dataframe(
                past.select(
                    "version",
                    "list_month",
                    "meeting_date",
                    *DECIDED,
                    "area",
                    "recorded_by",
                    "recorded_at",
                ).with_columns(decision_words()),
                hide_index=True,
                width="stretch",
                column_config={"notes": st.column_config.TextColumn("Notes", width="large")},
            )


def _form(
    ctx: PageContext,
    row: dict[str, Any],
    subject: str,
    month: str,
    area: str,
    meeting_date: date,
    base_key: str,
    options: list[str],
) -> None:
    """The decision first, with no default (a save with none chosen is refused, so Ctrl+Enter
    never records a decision nobody took), then only the fields that decision needs."""
    person_id = row["person_id"]
    key = f"mt:{subject}:{month}:{person_id}"
    types = list(SUBJECT_DECISIONS[subject])
    chosen = row["decision"] if row["decision"] in types else None
    kind = st.selectbox(
        "Decision",
        types,
        index=None if chosen is None else types.index(chosen),
        format_func=DECISION_TYPES.__getitem__,
        placeholder="Choose the meeting's decision",
        key=f"{key}:decision",
    )
    with st.form(f"{key}:form", enter_to_submit=False):
        _decision_fields(kind, row, key, meeting_date)
        st.text_area(
            "Notes", value=row["notes"] or "", max_chars=4000, height=100, key=f"{key}:notes"
        )
        st.form_submit_button(
            "Save decision",
            type="primary",
            shortcut="Ctrl+Enter",
            on_click=_saver(
                ctx,
                subject,
                person_id,
                row["name"],
                month,
                area,
                meeting_date,
                key,
                base_key,
                options,
            ),
            key=f"{key}:save",
        )


def _decision_fields(kind: str | None, row: dict[str, Any], key: str, meeting_date: date) -> None:
    """The fields decision ``kind`` needs (a service, engagement dates, an owner, a review
    date), filled with what was recorded before."""
    if applies(kind, "service"):
        what = {"signpost": "Service signposted to", "civil_order": "Order sought"}.get(
            str(kind), "Partner referred to"
        )
        st.text_input(what, value=row["service"] or "", max_chars=200, key=f"{key}:service")
    if applies(kind, "engagement"):
        c, d = st.columns(2)
        c.date_input(
            "Engagement start",
            value=row["engagement_start"] or meeting_date,
            format="YYYY-MM-DD",
            key=f"{key}:start",
        )
        d.date_input(
            "Engagement end",
            value=row["engagement_end"] or meeting_date + timedelta(days=91),
            format="YYYY-MM-DD",
            key=f"{key}:end",
        )
    if applies(kind, "owner") or applies(kind, "review"):
        e, f = st.columns(2)
        if applies(kind, "owner"):
            e.text_input("Owner", value=row["owner"] or "", max_chars=100, key=f"{key}:owner")
        if applies(kind, "review"):
            f.date_input(
                "Review date",
                value=row["review_date"],
                format="YYYY-MM-DD",
                key=f"{key}:review",
            )


def _saver(
    ctx: PageContext,
    subject: str,
    person_id: str,
    name: str | None,
    month: str,
    area: str,
    meeting_date: date,
    key: str,
    base_key: str,
    options: list[str],
) -> Callable[[], None]:
    """The form's callback: it runs before the page is drawn again, so the version the save is
    based on is the one the form was shown with, not whatever was saved meanwhile."""
    who = f"{name} ({person_id})" if name else person_id

    def save() -> None:
        state = st.session_state
        kind = state.get(f"{key}:decision")
        if kind is None:
            state[FLASH] = ("error", f"Not saved: choose the meeting's decision for {who} first.")
            return

        def given(field: str, name: str, default: Any = None) -> Any:
            return state.get(f"{key}:{name}", default) if applies(kind, field) else default

        decision = Decision(
            subject_type=subject,
            person_id=person_id,
            list_month=month,
            area=area,
            meeting_date=meeting_date,
            decision=kind,
            service=str(given("service", "service", "")).strip(),
            engagement_start=given("engagement", "start"),
            engagement_end=given("engagement", "end"),
            notes=str(state.get(f"{key}:notes", "")).strip(),
            owner=str(given("owner", "owner", "")).strip(),
            review_date=given("review", "review"),
        )
        try:
            saved = save_decision(
                ctx.store, decision, based_on=state[base_key], recorded_by=ctx.user.username
            )
        except DecisionConflict as exc:
            state[base_key] = exc.current
            state[FLASH] = (
                "error",
                f"Not saved for {who}: {exc}. The history below shows their decision; what "
                "you typed is kept, so saving again records yours on top of theirs.",
            )
            return
        except DecisionError as exc:
            state[FLASH] = ("error", f"Not saved for {who}: {exc}.")
            return
        state[FLASH] = (
            "ok",
            f"Saved for {who}: {label(kind)} (version {saved.version}).",
        )
        i = options.index(person_id)
        if i + 1 < len(options):
            state[PERSON] = options[i + 1]

    return save


def _due_and_pack(
    ctx: PageContext,
    run: Run,
    frame: pl.DataFrame,
    subject: str,
    month: str,
    area: str,
    meeting_date: date,
    everyone: bool,
) -> None:
    due = actions_due(ctx.store, subject, meeting_date, area=area)
    st.subheader(f"Actions due by {meeting_date.isoformat()} ({due.height})")
    if due.is_empty():
        st.caption("No review is due for this area's decisions.")
    else:
        names = frame.select("person_id", "name").unique("person_id")
        st.dataframe(
            due.join(names, on="person_id", how="left").select(
                "review_date",
                "name",
                "person_id",
                "list_month",
                decision_words(),
                "service",
                "owner",
                "engagement_end",
            ),
            hide_index=True,
            width="stretch",
            height=table_height(due.height, most=320),
        )
    st.subheader("Meeting pack")
    st.caption(
        "The people shown above with this meeting's decisions, and the actions due. Files are "
        f"marked {ctx.config.marking}, carry the run's details and your name, and every "
        "download is recorded."
    )
    labels = {"xlsx": "Meeting pack (XLSX)", "pdf": "Meeting pack (PDF)"}
    gate = ctx.download_gate("meeting")  # the pack is built (and checked) when clicked
    download_row(
        [
            (
                labels[fmt],
                partial(
                    meeting_pack,
                    ctx.store,
                    ctx.user,
                    run,
                    subject,
                    month,
                    area,
                    meeting_date,
                    frame,
                    due,
                    fmt,
                    ctx.config.marking,
                    everyone=everyone,
                    gate=gate,
                ),
                f"chi-meeting-{subject}-{month}-{area.lower()}.{fmt}",
                PACK_FORMATS[fmt],
                f"meeting_pack_{fmt}",
            )
            for fmt in PACK_FORMATS
        ],
        widths=[1, 1, 3],
    )
