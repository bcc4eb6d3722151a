"""The Meeting and Impact pages (AppTest) on the app's fixture run: an area user sees only
their area's cohort, decisions saved through the form appear, are audited and survive a
concurrent save, and the meeting pack downloads are built, marked and audited."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl
import pytest
from app_fixtures import AppEnv, app_test, goto, make_app_env, shared_fixture

from chi.meetings.decisions import Decision, actions_due, history, save_decision
from chi.meetings.pack import agenda, cohort, meeting_pack
from chi.reading.lists import area_scope, exited, offender_list, victim_briefing
from chi.scoring.runs import Run, open_run
from chi.state.auth import make_user
from chi.state.store import Store

MONTH = "2024-12"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path_factory.mktemp("meetings"), shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


@pytest.fixture(scope="module")
def run(env: AppEnv) -> Run:
    return open_run(env.fixture.runs_dir)


def shown(text: str) -> str:
    """Markdown-escaped data text (chi.app.text.md) as the reader sees it."""
    return text.replace("\\", "").replace("\u2060", "")


def no_errors(at: Any) -> None:
    assert not at.exception, [e.value for e in at.exception]


def meeting(env: AppEnv, username: str, everyone: bool = True) -> Any:
    """The meeting page as ``username``, showing the whole cohort (or only the agenda)."""
    at = goto(app_test(env, username), "meeting")
    no_errors(at)
    if everyone:
        at.button_group(key="meeting_show").set_value("everyone").run()
        no_errors(at)
    return at


def cohort_ids(run: Run, area: str, month: str = MONTH) -> list[str]:
    scope = area_scope(area)
    listed = victim_briefing(run, month, scope)
    return [*listed["person_id"], *exited(run, month, scope)["person_id"]]


def victim_name(env: AppEnv, person_id: str) -> str:
    people = pl.read_parquet(open_run(env.fixture.runs_dir).file("people"))
    return str(people.filter(pl.col("person_id") == person_id)["name"][0])


def form_key(at: Any, person_id: str, subject: str = "victim") -> str:
    return f"mt:{subject}:{MONTH}:{person_id}"


def test_area_user_sees_only_their_areas_cohort_in_meeting_order(env: AppEnv, run: Run) -> None:
    at = meeting(env, "north", everyone=False)
    assert at.title[0].value == f"Victim meeting: North area, list month {MONTH}"
    assert "Area" not in [s.label for s in at.sidebar.selectbox]
    new = victim_briefing(run, MONTH, area_scope("North")).filter(pl.col("status") == "new")
    agenda = at.selectbox(key="meeting_person").options
    assert new.height < run.manifest.policy["agenda_new"] == 15
    assert len(agenda) == new.height, "with no decisions yet, the agenda is the new entries"
    at.button_group(key="meeting_show").set_value("everyone").run()
    no_errors(at)
    person = at.selectbox(key="meeting_person")
    north = cohort_ids(run, "North")
    assert len(person.options) == len(north) > len(agenda)
    labels = [o.split(" · ")[0] for o in person.options]
    assert labels == sorted(labels, key=["New", "Continuing", "Exited"].index)
    south = set(cohort_ids(run, "South"))
    assert not any(f"({p})" in o for p in south for o in person.options)
    views = Store(env.state).audit_log(username="north", actions=["meeting_view"])
    assert views[0]["scope"] == "North" and views[0]["rows"] == len(north)


def test_the_agenda_holds_the_first_new_entries_and_the_rest_is_one_click_away(
    env: AppEnv, run: Run
) -> None:
    scope = area_scope("North")
    listed, gone = victim_briefing(run, MONTH, scope), exited(run, MONTH, scope)
    frame = cohort(listed, gone, Store(env.state), "victim", MONTH, date(2025, 1, 6), "North")
    new = frame.filter(pl.col("section") == "new")
    assert new.height == 4
    two = agenda(frame, new_limit=2)
    assert (
        two.filter(pl.col("section") == "new")["person_id"].to_list()
        == (new.sort("rank")["person_id"].to_list()[:2])
    )
    assert agenda(frame, new_limit=0).height == agenda(frame).height
    assert agenda(frame).filter(pl.col("section") == "new").height == 4


def test_neighbourhood_users_cannot_open_the_meeting(env: AppEnv) -> None:
    at = goto(app_test(env, "sergeant"), "meeting")
    no_errors(at)
    assert at.title[0].value.startswith("Victim list")


def test_a_decision_saved_through_the_form_appears_and_is_audited(env: AppEnv) -> None:
    at = meeting(env, "south")
    person = at.selectbox(key="meeting_person")
    pid = str(person.value)
    key = form_key(at, pid)
    assert at.selectbox(key=f"{key}:decision").value is None, "no decision by default"
    at.selectbox(key=f"{key}:decision").set_value("signpost").run()
    assert not [d for d in at.date_input if d.key == f"{key}:start"], "no engagement dates"
    at.text_input(key=f"{key}:service").input("Victim Care Hub")
    at.text_input(key=f"{key}:owner").input("PC Shah")
    at.text_area(key=f"{key}:notes").input("Prefers a call in the evening")
    at.date_input(key=f"{key}:review").set_value(date(2030, 1, 31))
    at.button(key=f"{key}:save").click().run()
    no_errors(at)
    name = victim_name(env, pid)
    assert at.success
    assert f"Saved for {name} ({pid}): Signpost to a service (version 1)" in shown(
        at.success[0].value
    )
    assert at.selectbox(key="meeting_person").value != pid, "moves on to the next person"
    saved = history(Store(env.state), "victim", pid)
    assert saved.height == 1
    assert saved.row(0, named=True)["service"] == "Victim Care Hub"
    assert saved.row(0, named=True)["area"] == "South"
    entries = Store(env.state).audit_log(username="south", actions=["decision_saved"])
    assert entries[0]["person_id"] == pid and entries[0]["detail"] == "victim signpost v1"
    assert "evening" not in repr(Store(env.state).audit_log())
    # The cohort now shows it, and the person is marked as decided.
    option = next(o for o in at.selectbox(key="meeting_person").options if f"({pid})" in o)
    assert option.endswith("✓ decided")
    assert "**1** of" in at.markdown[0].value


def test_a_refused_decision_says_why_and_saves_nothing(env: AppEnv) -> None:
    at = meeting(env, "north")
    pid = str(at.selectbox(key="meeting_person").value)
    key = form_key(at, pid)
    at.selectbox(key=f"{key}:decision").set_value("engagement").run()
    at.button(key=f"{key}:save").click().run()
    no_errors(at)
    assert "Not saved" in shown(at.error[0].value) and "needs an owner" in shown(at.error[0].value)
    assert history(Store(env.state), "victim", pid).is_empty()


def test_a_concurrent_save_is_not_overwritten_and_saving_again_goes_on_top(
    env: AppEnv,
) -> None:
    at = meeting(env, "north")
    options = at.selectbox(key="meeting_person").options
    pid = options[-1].rsplit("(", 1)[1].split(")")[0]
    at.selectbox(key="meeting_person").set_value(pid).run()
    key = form_key(at, pid)
    at.selectbox(key=f"{key}:decision").set_value("referral").run()
    at.text_input(key=f"{key}:service").input("MARAC")
    at.text_input(key=f"{key}:owner").input("DS Lee")
    # Meanwhile a colleague saves a decision for the same person.
    theirs = Decision("victim", pid, MONTH, "North", date.today(), "no_further_action")
    save_decision(Store(env.state), theirs, based_on=0, recorded_by="analyst")
    at.button(key=f"{key}:save").click().run()
    no_errors(at)
    assert "someone else saved a decision" in at.error[0].value
    assert history(Store(env.state), "victim", pid)["decision"].to_list() == ["no_further_action"]
    assert at.text_input(key=f"{key}:service").value == "MARAC", "what was typed is kept"
    at.button(key=f"{key}:save").click().run()
    no_errors(at)
    assert "version 2" in at.success[0].value
    assert history(Store(env.state), "victim", pid)["decision"].to_list() == [
        "referral",
        "no_further_action",
    ]


def test_the_offender_panel_lists_the_areas_offenders(env: AppEnv, run: Run) -> None:
    at = meeting(env, "north")
    at.sidebar.button_group(key="meeting_panel").set_value("offender").run()
    no_errors(at)
    assert at.title[0].value.startswith("High-harm offender panel: North area")
    wanted = set(offender_list(run, MONTH, area_scope("North"))["person_id"])
    shown = {o.rsplit("(", 1)[1].split(")")[0] for o in at.selectbox(key="meeting_person").options}
    assert wanted <= shown


def test_the_offender_panel_decides_perpetrator_actions_and_nothing_by_default(
    env: AppEnv,
) -> None:
    at = meeting(env, "north")
    at.sidebar.button_group(key="meeting_panel").set_value("offender").run()
    pid = str(at.selectbox(key="meeting_person").value)
    key = form_key(at, pid, "offender")
    decision = at.selectbox(key=f"{key}:decision")
    assert decision.value is None
    assert decision.options == [
        "No further action",
        "Refer to MATAC (multi-agency tasking and coordination)",
        "Adopt onto Integrated Offender Management (IOM)",
        "Apply for a DVPN / DVPO",
        "Seek a civil order (stalking protection, non-molestation, injunction)",
        "Targeted disruption (warrants, licence conditions, bail checks)",
        "Other",
    ]
    assert not any("MARAC" in o or "engagement" in o for o in decision.options)
    at.button(key=f"{key}:save").click().run()  # Ctrl+Enter with nothing chosen
    no_errors(at)
    assert "choose the meeting's decision" in shown(at.error[0].value)
    assert history(Store(env.state), "offender", pid).is_empty()
    decision.set_value("matac").run()
    assert [t.key for t in at.text_input] == [f"{key}:owner"], "MATAC needs an owner only"
    at.text_input(key=f"{key}:owner").input("DI Khan")
    at.button(key=f"{key}:save").click().run()
    no_errors(at)
    assert "Refer to MATAC" in at.success[0].value
    assert history(Store(env.state), "offender", pid)["decision"].to_list() == ["matac"]
    with pytest.raises(Exception, match="decision must be one of"):
        Decision("offender", pid, MONTH, "North", date.today(), "engagement").validated()


def test_analyst_chooses_the_area(env: AppEnv) -> None:
    at = meeting(env, "analyst")
    at.sidebar.selectbox(key="meeting_area").select("South").run()
    no_errors(at)
    assert at.title[0].value.startswith("Victim meeting: South area")
    assert [b.label for b in at.get("download_button")] == [
        "Meeting pack (XLSX)",
        "Meeting pack (PDF)",
    ]


def test_meeting_pack_downloads_are_marked_neutralised_and_audited(
    env: AppEnv, run: Run, tmp_path: Any
) -> None:
    import openpyxl

    store = Store(tmp_path / "state.sqlite")
    user = make_user("south", "area", "South")
    scope = area_scope("South")
    listed = victim_briefing(run, MONTH, scope)
    first = str(listed["person_id"][0])
    engage = Decision(
        "victim",
        first,
        "2024-11",
        "South",
        date(2024, 12, 5),
        "engagement",
        engagement_start=date(2024, 12, 6),
        engagement_end=date(2025, 3, 6),
        owner="=cmd|' /C calc'!A0",
        review_date=date(2025, 1, 6),
    )
    save_decision(store, engage, based_on=0, recorded_by="south")
    meeting_date = date(2025, 1, 9)
    frame = cohort(listed, exited(run, MONTH, scope), store, "victim", MONTH, meeting_date, "South")
    assert frame.filter(pl.col("person_id") == first)["review_due"].item() is True
    assert first in agenda(frame)["person_id"].to_list()
    due = actions_due(store, "victim", meeting_date, area="South")
    xlsx = meeting_pack(
        store, user, run, "victim", MONTH, "South", meeting_date, frame, due, "xlsx", "MARKED"
    )
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["New", "Continuing", "Exited", "Actions due", "run metadata"]
    sheets = {name: list(wb[name].iter_rows(values_only=True)) for name in wb.sheetnames}
    assert all(rows[0][0] == "MARKED" for name, rows in sheets.items() if name != "run metadata")
    body = [r for s in ("New", "Continuing", "Exited") for r in sheets[s][2:] if r[0] != "None."]
    assert len(body) == frame.height
    assert sheets["Actions due"][2][0] == first
    assert sheets["New"][1][:5] == (
        "Neighbourhood",
        "Force rank",
        "Name",
        "Person id",
        "Harm (days)",
    )
    assert sheets["Actions due"][1][:3] == ("Person id", "Name", "List month"), "readable headers"
    assert wb["New"].freeze_panes == "A3" and wb["New"].auto_filter.ref is not None
    assert sheets["Actions due"][2][5] == "'=cmd|' /C calc'!A0", "formula neutralised"
    pdf = meeting_pack(
        store, user, run, "victim", MONTH, "South", meeting_date, frame, due, "pdf", "MARKED"
    )
    assert pdf.startswith(b"%PDF")
    entries = store.audit_log(actions=["meeting_pack_download"])
    assert [e["detail"] for e in entries] == ["victim pdf", "victim xlsx"]
    assert all(e["rows"] == frame.height and e["scope"] == "South" for e in entries)


def test_impact_page_reviews_the_areas_engaged(env: AppEnv, run: Run) -> None:
    store = Store(env.state)
    listed = pl.read_parquet(run.file("victim_list")).filter(
        (pl.col("month") == "2024-03") & (pl.col("status") == "new")
    )
    codes = area_scope("North").neighbourhoods
    north = listed.filter(pl.col("neighbourhood_code").is_in(list(codes)))
    for pid in north["person_id"].head(3).to_list():
        d = Decision(
            "victim",
            pid,
            "2024-03",
            "North",
            date(2024, 4, 2),
            "engagement",
            engagement_start=date(2024, 4, 2),
            engagement_end=date(2024, 7, 1),
            owner="PC Patel",
        )
        save_decision(store, d, based_on=0, recorded_by="north")
    at = goto(app_test(env, "north"), "impact")
    no_errors(at)
    assert at.title[0].value == "Impact review: North area"
    assert "Area" not in [s.label for s in at.sidebar.selectbox]
    # Three people: too few for a verdict, which the page says; they are counted whether or
    # not they found a comparison.
    assert "No verdict" in at.info[0].value
    assert "Of 3 in the cohort" in at.text[0].value
    views = store.audit_log(username="north", actions=["impact_view"])
    assert views[0]["detail"] == "engaged" and views[0]["scope"] != "*"
    analyst = goto(app_test(env, "analyst"), "impact")
    no_errors(analyst)
    assert analyst.title[0].value == "Impact review: force-wide"
