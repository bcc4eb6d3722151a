"""Meeting decisions in the state store: versions append, history is kept, concurrent edits
lose nothing, every save is audited without its notes, and imports reconcile."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from chi.meetings.decisions import (
    Decision,
    DecisionConflict,
    DecisionError,
    actions_due,
    cohort,
    current_version,
    for_meeting,
    history,
    latest,
    parse_decision,
    save_decision,
)
from chi.meetings.importing import import_decisions
from chi.state.store import SCHEMA_VERSION, Store

T0 = datetime(2025, 2, 10, 9, 30, tzinfo=UTC)
NOTES = "Lives with her sister; call after 6pm"

ENGAGE = Decision(
    subject_type="victim",
    person_id="P001",
    list_month="2025-01",
    area="North",
    meeting_date=date(2025, 2, 10),
    decision="engagement",
    engagement_start=date(2025, 2, 11),
    engagement_end=date(2025, 5, 11),
    notes=NOTES,
    owner="PC Patel",
    review_date=date(2025, 3, 10),
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.sqlite")


def test_migration_adds_the_decisions_table(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION >= 2
    assert current_version(store, "victim", "P001") == 0
    assert history(store, "victim", "P001").is_empty()


def test_versions_append_and_history_is_kept(store: Store) -> None:
    first = save_decision(store, ENGAGE, based_on=0, recorded_by="north", now=T0)
    assert first.version == 1
    changed = replace(ENGAGE, engagement_end=date(2025, 6, 30), notes="extended")
    second = save_decision(store, changed, based_on=1, recorded_by="south", now=T0)
    assert second.version == 2
    h = history(store, "victim", "P001")
    assert h["version"].to_list() == [2, 1]
    assert h["engagement_end"].to_list() == [date(2025, 6, 30), date(2025, 5, 11)]
    assert h["recorded_by"].to_list() == ["south", "north"]
    assert latest(store, "victim")["version"].to_list() == [2]
    # The same person on the offender list is a separate record.
    assert current_version(store, "offender", "P001") == 0


def test_history_cannot_be_rewritten(store: Store) -> None:
    save_decision(store, ENGAGE, based_on=0, recorded_by="north")
    with sqlite3.connect(store.path) as con:
        for sql in (
            "update decisions set decision = 'other'",
            "delete from decisions",
            # a version that skips or repeats one is refused by the store itself
            "insert into decisions (subject_type, person_id, list_month, area, version,"
            " meeting_date, decision, recorded_by, recorded_at)"
            " values ('victim', 'P001', '2025-01', 'North', 1, '2025-02-10', 'other', 'x', 'y')",
        ):
            with pytest.raises(sqlite3.DatabaseError):
                con.execute(sql)
    assert current_version(store, "victim", "P001") == 1


def test_concurrent_edit_is_refused_then_succeeds_on_top(store: Store) -> None:
    save_decision(store, ENGAGE, based_on=0, recorded_by="north")
    # Two people open version 1 at the same meeting.
    mine = replace(ENGAGE, owner="PC Jones")
    theirs = replace(ENGAGE, review_date=date(2025, 4, 1))
    save_decision(store, theirs, based_on=1, recorded_by="south")
    with pytest.raises(DecisionConflict, match=r"version 2.*started from \(1\)") as err:
        save_decision(store, mine, based_on=1, recorded_by="north")
    assert err.value.current == 2
    assert NOTES not in str(err.value)
    # Reload and save on top: nothing of either is lost.
    on_top = replace(mine, review_date=date(2025, 4, 1))
    assert save_decision(store, on_top, based_on=2, recorded_by="north").version == 3
    assert history(store, "victim", "P001")["owner"].to_list() == [
        "PC Jones",
        "PC Patel",
        "PC Patel",
    ]


def test_many_writers_at_once_lose_no_version(store: Store) -> None:
    writers, saves = 6, 5
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(saves):
                while True:
                    base = current_version(store, "victim", "P001")
                    try:
                        note = f"writer {k} save {i}"
                        save_decision(
                            store, replace(ENGAGE, notes=note), based_on=base, recorded_by=f"u{k}"
                        )
                        break
                    except DecisionConflict:
                        continue
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    h = history(store, "victim", "P001")
    assert sorted(h["version"].to_list()) == list(range(1, writers * saves + 1))
    assert h["notes"].n_unique() == writers * saves
    audited = store.audit_log(actions=["decision_saved"])
    assert len(audited) == writers * saves


def test_decisions_survive_reopening(store: Store) -> None:
    save_decision(store, ENGAGE, based_on=0, recorded_by="north")
    again = Store(store.path)
    h = history(again, "victim", "P001")
    assert h.height == 1 and h["notes"][0] == NOTES
    assert h["meeting_date"][0] == date(2025, 2, 10)


def test_every_save_is_audited_without_personal_text(store: Store) -> None:
    save_decision(store, ENGAGE, based_on=0, recorded_by="north", now=T0)
    signpost = replace(
        ENGAGE,
        person_id="P002",
        decision="signpost",
        service="Victim Care Hub",
        engagement_start=None,
        engagement_end=None,
    )
    save_decision(store, signpost, based_on=0, recorded_by="north", now=T0)
    entries = store.audit_log(actions=["decision_saved"])
    assert [(e["person_id"], e["month"], e["scope"], e["detail"]) for e in entries] == [
        ("P002", "2025-01", "North", "victim signpost v1"),
        ("P001", "2025-01", "North", "victim engagement v1"),
    ]
    everything = repr(store.audit_log())
    for text in (NOTES, "Victim Care Hub", "PC Patel"):
        assert text not in everything


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "signpost", "engagement_start": None, "engagement_end": None}, "service"),
        ({"engagement_end": None}, "start and an end"),
        ({"engagement_end": date(2025, 2, 1)}, "ends before it starts"),
        ({"owner": ""}, "needs an owner"),
        ({"review_date": date(2025, 2, 10)}, "review date must be after"),
        ({"meeting_date": date(2024, 12, 20)}, "before the list month"),
        ({"decision": "arrest"}, "decision must be one of"),
        ({"area": "East"}, "area must be one of"),
        ({"list_month": "2025-13"}, "YYYY-MM"),
        ({"person_id": "P 1; drop"}, "person_id"),
        (
            {"decision": "other", "engagement_start": None, "engagement_end": None, "notes": ""},
            "notes",
        ),
        ({"notes": "x" * 5000}, "notes is longer"),
    ],
)
def test_invalid_decisions_are_refused_with_a_reason(
    store: Store, change: dict[str, object], message: str
) -> None:
    bad = replace(ENGAGE, **change)  # type: ignore[arg-type]
    with pytest.raises(DecisionError, match=message) as err:
        save_decision(store, bad, based_on=0, recorded_by="north")
    assert NOTES not in str(err.value)
    assert current_version(store, "victim", ENGAGE.person_id) == 0
    assert not store.audit_log(actions=["decision_saved"])


def test_no_further_action_needs_nothing_more() -> None:
    nfa = Decision("victim", "P9", "2025-01", "South", date(2025, 2, 3), "no_further_action")
    assert nfa.problems() == []


def test_last_decision_is_the_latest_meetings_and_cohorts_follow_meetings(store: Store) -> None:
    jan = ENGAGE
    feb = replace(
        ENGAGE,
        list_month="2025-02",
        meeting_date=date(2025, 3, 10),
        decision="no_further_action",
        engagement_start=None,
        engagement_end=None,
        review_date=None,
    )
    save_decision(store, jan, based_on=0, recorded_by="north")
    save_decision(store, feb, based_on=1, recorded_by="north")
    # A later correction of January's meeting does not replace February's decision.
    save_decision(store, replace(jan, owner="PC Jones"), based_on=2, recorded_by="north")
    last = latest(store, "victim")
    assert last["list_month"].to_list() == ["2025-02"] and last["version"].to_list() == [2]
    assert for_meeting(store, "victim", "2025-01")["owner"].to_list() == ["PC Jones"]
    engaged = cohort(store, "engaged")
    assert engaged.to_dicts() == [
        {"person_id": "P001", "index_month": "2025-01", "start_month": "2025-02"}
    ]
    assert cohort(store, "decision:no_further_action")["index_month"].to_list() == ["2025-02"]
    assert cohort(store, "meeting:2025-02")["start_month"].to_list() == ["2025-03"]
    with pytest.raises(ValueError, match="unknown cohort"):
        cohort(store, "decision:arrest")


def test_actions_due_by_a_date_within_an_area(store: Store) -> None:
    save_decision(store, ENGAGE, based_on=0, recorded_by="north")
    south = replace(ENGAGE, person_id="P002", area="South")
    save_decision(store, south, based_on=0, recorded_by="south")
    later = replace(ENGAGE, person_id="P003", review_date=date(2025, 5, 1))
    save_decision(store, later, based_on=0, recorded_by="north")
    due = actions_due(store, "victim", date(2025, 3, 31), area="North")
    assert due["person_id"].to_list() == ["P001"]
    assert actions_due(store, "victim", date(2025, 5, 1))["person_id"].to_list() == [
        "P001",
        "P002",
        "P003",
    ]


IMPORT_CSV = """\
person_id,list_month,area,meeting_date,decision,service,engagement_start,engagement_end,notes,owner,review_date
P001,2024-11,north,05/12/2024,engagement,,2024-12-06,2025-03-06,First visit done,PC Patel,2025-01-05
P002,2024-11,South,2024-12-05,signpost,,,,,PC Shah,
P003,2024-11,South,2024-12-05,referral,MARAC,,,,DS Lee,2025-01-05
P004,2024-11,West,2024-12-05,no_further_action,,,,,,
P005,2024-11,North,31/02/2024,no_further_action,,,,,,
P001,2024-12,North,2025-01-09,engagement,,2024-12-06,2025-04-30,Extended,PC Patel,2025-02-09
P006,2024-12,North,2025-01-09,other,,,,,PC Patel,
P007,2024-12,South,2025-01-09,no_further_action,,,,,,
"""


def test_import_reports_bad_rows_by_number_and_reconciles(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "meetings.csv"
    path.write_text(IMPORT_CSV, encoding="utf-8")
    report = import_decisions(store, path, "cli:analyst", now=T0)
    assert (report.read, report.imported, report.unchanged) == (8, 4, 0)
    assert [n for n, _ in report.rejected] == [2, 4, 5, 7]
    reasons = dict(report.rejected)
    assert "service" in reasons[2]
    assert "area must be one of" in reasons[4]
    assert "meeting_date is not a date" in reasons[5]
    assert "notes" in reasons[7]
    assert report.reconciles
    # P001 has two meetings: the December one is the last decision, January's the history.
    h = history(store, "victim", "P001")
    assert h["list_month"].to_list() == ["2024-12", "2024-11"]
    assert h["meeting_date"].to_list() == [date(2025, 1, 9), date(2024, 12, 5)]
    assert set(h["source"]) == {"import"}
    audit = store.audit_log(actions=["decision_imported", "decisions_import"])
    assert len(audit) == 5
    assert audit[0]["detail"] == "read 8; imported 4; unchanged 0; rejected 4"
    assert "First visit" not in repr(store.audit_log())
    # Importing the same file again adds nothing.
    again = import_decisions(store, path, "cli:analyst")
    assert (again.imported, again.unchanged, len(again.rejected)) == (0, 4, 4)
    assert again.reconciles


def test_import_reads_parquet_and_the_generator_truth_columns(store: Store, tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "index_month": ["2024-03", "2024-03"],
            "area": ["North", "South"],
            "meeting_date": [date(2024, 4, 1), date(2024, 4, 1)],
            "decision": ["engagement", "engagement"],
            "engagement_start": [date(2024, 4, 1), date(2024, 4, 1)],
            "engagement_end": [date(2024, 9, 30), None],
            "owner": ["synthetic", "synthetic"],
            "effect": [0.3, 0.3],
        }
    )
    path = tmp_path / "engagements.parquet"
    frame.write_parquet(path)
    report = import_decisions(store, path, "cli:analyst")
    assert (report.imported, report.rejected) == (
        1,
        [(2, "an engagement needs a start and an end date")],
    )
    assert cohort(store, "engaged")["person_id"].to_list() == ["P1"]


def test_import_refuses_a_file_without_the_needed_columns(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("person,decision\nP1,engagement\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        import_decisions(store, path, "cli:analyst")
    assert not store.audit_log(actions=["decisions_import"])


def test_parse_decision_accepts_form_text() -> None:
    d = parse_decision(
        {
            "person_id": " P1 ",
            "list_month": "2025-01",
            "area": "south",
            "meeting_date": "2025-02-03T00:00:00",
            "decision": "No further action",
        }
    )
    assert (d.person_id, d.area, d.decision, d.subject_type) == (
        "P1",
        "South",
        "no_further_action",
        "victim",
    )
