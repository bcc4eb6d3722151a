"""Lists sized for action: a per-neighbourhood list size, and victims whose listing belongs to
a specialist team (child protection, rape and serious sexual offences) flagged with the team
and never taking a place; a step over the ranked list (``sql/lists/victim_sizing.sql``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from factory import GBH_S20, HOME_A, crime, person, victim, write_extract

from chi.reading.lists import Scope, victim_briefing
from chi.scoring.policy import Policy, load_policy
from chi.scoring.runs import open_run, score_and_publish

CHILD_RAPE = "19D.19.7.0"  # rape of a female under 16: 2555 days (child sexual abuse)
RAPE = "19C.19.8.0"  # rape of a female 16 or over: 1825 days


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """All in Arbury, May 2024. K: a child rape only (2555). R: a rape only (1825). M: a rape
    and 3 ABH (1855; her ABHs alone list her: 3 crimes). G: a GBH (547.5). H: 3 ABH (30)."""
    crimes, victims = [], []
    plan = {
        "K": [CHILD_RAPE],
        "R": [RAPE],
        "M": [RAPE, "8N.8.6.0", "8N.8.6.0", "8N.8.6.0"],
        "G": [GBH_S20],
        "H": ["8N.8.6.0"] * 3,
    }
    for pid, codes in plan.items():
        for i, code in enumerate(codes):
            cid = f"{pid}{i}"
            crimes.append(crime(cid, f"2024-05-{10 + i:02d}", offence_code=code))
            victims.append(victim(cid, pid))
    return write_extract(
        tmp_path / "extract",
        crimes=crimes,
        persons=[person(p, home_lsoa_code=HOME_A, name=f"Name {p}") for p in plan],
        victims=victims,
        as_of="2024-05-31",
    )


def _sized(extract: Path, tmp_path: Path, **policy: object) -> pl.DataFrame:
    run = open_run(
        score_and_publish(extract, tmp_path / "runs", Policy(**policy), "2024-05")  # type: ignore[arg-type]
    )
    return victim_briefing(run, "2024-05", Scope.force()).select(
        "person_id", "neighbourhood_rank", "specialist_team", "action_rank", "within_size"
    )


def test_specialist_listings_are_flagged_and_take_no_place(extract: Path, tmp_path: Path) -> None:
    frame = _sized(extract, tmp_path, list_size=2)
    assert frame.rows() == [
        ("K", 1, "Child protection team", None, False),
        ("M", 2, None, 1, True),
        ("R", 3, "Rape and serious sexual offences team", None, False),
        ("G", 4, None, 2, True),
        ("H", 5, None, 3, False),
    ]


def test_rule_none_and_no_limit(extract: Path, tmp_path: Path) -> None:
    frame = _sized(extract, tmp_path, list_size=0, specialist_rule="none")
    assert frame.rows() == [
        ("K", 1, None, 1, True),
        ("M", 2, None, 2, True),
        ("R", 3, None, 3, True),
        ("G", 4, None, 4, True),
        ("H", 5, None, 5, True),
    ]


def test_a_force_configures_its_own_teams(extract: Path, tmp_path: Path) -> None:
    frame = _sized(extract, tmp_path, list_size=1, specialist_teams=(("rape", "RASSO unit"),))
    assert frame.rows() == [
        ("K", 1, "RASSO unit", None, False),
        ("M", 2, None, 1, True),
        ("R", 3, "RASSO unit", None, False),
        ("G", 4, None, 2, False),
        ("H", 5, None, 3, False),
    ]


def test_list_size_and_teams_are_in_the_policy_file_and_manifest(
    extract: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "chi.toml"
    cfg.write_text(
        '[policy]\nlist_size = 7\nspecialist_rule = "exclude"\n'
        '[policy.specialist_teams]\nrape = "RASSO"\nchild_sexual_abuse_exploitation = "CAIT"\n'
    )
    policy = load_policy(cfg)
    assert policy.list_size == 7 and policy.specialist_rule == "exclude"
    assert policy.specialist_teams == (
        ("rape", "RASSO"),
        ("child_sexual_abuse_exploitation", "CAIT"),
    )
    run = open_run(score_and_publish(extract, tmp_path / "runs", policy, "2024-05"))
    pol = run.manifest.policy
    assert pol["list_size"] == 7 and pol["specialist_rule"] == "exclude"
    assert list(pol["specialist_teams"].items()) == [
        ("rape", "RASSO"),
        ("child_sexual_abuse_exploitation", "CAIT"),
    ]
    assert Policy.from_manifest(pol) == policy
    for bad in ("list_size = -1", 'specialist_rule = "hide"', '[policy.specialist_teams]\nx = "y"'):
        cfg.write_text(f"[policy]\n{bad}\n")
        with pytest.raises(ValueError):
            load_policy(cfg)
