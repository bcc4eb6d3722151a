"""A crime recorded without an offence key (only a Home Office class, a retired class, an
offence group or a Home Office code) is shown by the offence's name wherever the latest
offence is shown (victim list, its exports, person page), never as a bare "019/08"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from factory import crime, person, victim, write_extract

from chi.exports import listview
from chi.offences import offence_names
from chi.reading.lists import Scope, person_detail, victim_briefing
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish

MONTH = "2024-12"
BARE = re.compile(r"[0-9]{1,3}\s*/\s*[0-9]{1,2}|[0-9]{1,3}[A-Z]?|[A-Z0-9]+(\.[A-Z0-9]+)+")

# person -> (offence_code, ho_class) of the latest crime, and the name it must show as
LATEST = {
    "P1": ((None, "19/8"), "Rape of a female (16 or over) (Indictable) or similar (class 019/08)"),
    "P2": (("8N", None), "Assault with injury"),
    "P3": ((None, "004/02"), "Manslaughter (Indictable) (retired class 004/02)"),
    "P4": (("4/4", None), "Causing death or serious injury by dangerous driving"),
    "P5": ((None, "001/01"), "Murder - Victim aged 1 and over (Indictable)"),
    "P6": (("8N.8.6.0", None), "Assault occasioning actual bodily harm (ABH)"),
    "P7": (("ZZ.1.2.0", None), "unrecognised offence code ZZ.1.2.0"),
}


def test_names_of_classes_codes_and_retired_classes() -> None:
    names = offence_names()
    assert names["001/01"] == "Murder - Victim aged 1 and over (Indictable)"
    assert names["019/08"] == LATEST["P1"][1]
    assert names["004/02"] == LATEST["P3"][1]
    assert names["8N"] == "Assault with injury"
    assert names["4/4"] == LATEST["P4"][1]
    assert not [k for k, v in names.items() if not v or BARE.fullmatch(v)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("names")
    crimes, victims = [], []
    for i, (pid, ((code, cls), _)) in enumerate(LATEST.items()):
        for k in range(5):  # five ABHs over 2024, then the latest crime in December
            cid = f"37/{i}0{k}/24"
            crimes.append(crime(cid, f"2024-0{k + 3}-10", offence_code="8N.8.6.0"))
            victims.append(victim(cid, pid))
        cid = f"37/{i}99/24"
        crimes.append(crime(cid, "2024-12-10", offence_code=code, ho_class=cls))
        victims.append(victim(cid, pid))
    persons = [person(pid, name=f"Person {pid}") for pid in LATEST]
    extract = write_extract(root / "extract", crimes, persons, victims, as_of="2024-12-31")
    policy = Policy(min_harm=Decimal(30), min_crimes=4, list_size=0, specialist_rule="none")
    return open_run(score_and_publish(extract, root / "runs", policy, f"{MONTH}:{MONTH}"))


def test_latest_offence_is_named_on_the_list_its_export_and_the_person_page(run: Run) -> None:
    board = victim_briefing(run, MONTH, Scope.force())
    got = dict(zip(board["person_id"], board["latest_offence"], strict=True))
    assert got == {pid: name for pid, (_, name) in LATEST.items()}
    shown = listview.table(listview.select(board, listview.ListView(everyone=True)))
    assert sorted(shown["Latest offence"]) == sorted(name for _, name in LATEST.values())
    for pid, (_, name) in LATEST.items():
        detail = person_detail(run, pid, MONTH, Scope.force())
        assert detail is not None
        assert detail.victimisations["offence"][0] == name
        assert not [s for s in detail.victimisations["offence"] if BARE.fullmatch(str(s))]


def test_a_restricted_class_only_crime_still_shows_only_its_label(run: Run) -> None:
    board = victim_briefing(run, MONTH, Scope.force(), ["sexual_offences"])
    got = dict(zip(board["person_id"], board["latest_offence"], strict=True))
    assert got["P1"] == "sexual offence"
    assert got["P2"] == "Assault with injury"
