"""The class-level rule: lowest weight by default, the typical offence when a force chooses it,
and what depends on the choice (harm and listed people), hand-computed.

One month (2024-03, 12-month window, H = 365, R = 3). Weights from the CHI 2020 sheet:
008/01 lowest 19, typical 547.5; 019/08 1825 either way; 028/03 lowest 10, typical 19;
8N.8.6.0 (ABH) 10; 8N.8.1.1 (s.20 GBH, serious wound) 547.5.

- P1: two 008/01 crimes and an ABH: 3 crimes, listed as a repeat victim under either rule;
  harm 48 (lowest) or 1105 (typical).
- P2: one 008/01 crime: harm 19 or 547.5, listed only under the typical rule.
- P3: one 019/08 crime: 1825 either way, listed under both.
- P4: 8N.8.1.1 by key: 547.5, listed, no class-level crime.
- P5: two 028/03 crimes: 20 or 38, listed under neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factory import ABH, GBH_S20, crime, person, victim, write_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.class_rule import impact
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.runs import open_run, score_and_publish
from chi.scoring.score import score


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [
        ("A1", "P1", None, "008/01"),
        ("A2", "P1", None, "8/1"),
        ("A3", "P1", ABH, None),
        ("B1", "P2", None, "008/01"),
        ("C1", "P3", None, "019/08"),
        ("D1", "P4", GBH_S20, None),
        ("E1", "P5", "028/03", None),
        ("E2", "P5", None, "28/3"),
    ]
    crimes = [crime(c, "2024-03-10", offence_code=k, ho_class=h) for c, _, k, h in rows]
    persons = [person(p) for p in ("P1", "P2", "P3", "P4", "P5")]
    victims = [victim(c, p) for c, p, _, _ in rows]
    return write_extract(tmp_path_factory.mktemp("rule") / "x", crimes, persons, victims)


EXPECTED = {
    "lowest": {
        "month": "2024-03",
        "harm_days": "2459.50",
        "class_victimisations": 6,
        "class_harm_days": "1902.00",
        "class_harm_other_days": "3505.50",
        "listed": 3,
        "listed_with_class_crimes": 2,
        "listed_only_this_rule": 0,
        "listed_only_other_rule": 1,
    },
    "typical": {
        "month": "2024-03",
        "harm_days": "4063.00",
        "class_victimisations": 6,
        "class_harm_days": "3505.50",
        "class_harm_other_days": "1902.00",
        "listed": 4,
        "listed_with_class_crimes": 3,
        "listed_only_this_rule": 1,
        "listed_only_other_rule": 0,
    },
}


@pytest.mark.parametrize("rule", ["lowest", "typical"])
def test_what_depends_on_the_class_rule(extract: Path, rule: str) -> None:
    with prepare(extract, policy=Policy(class_rule=rule)) as p:
        lists = score(p, ["2024-03"])
        got = impact(p)
    assert got["rule"] == rule
    assert got["other_rule"] == {"lowest": "typical", "typical": "lowest"}[rule]
    assert got["months"] == [EXPECTED[rule]]
    assert lists.victim_list.num_rows == EXPECTED[rule]["listed"]
    listed = set(lists.victim_list.column("person_id").to_pylist())
    assert listed == ({"P1", "P3", "P4"} | ({"P2"} if rule == "typical" else set()))


def test_the_run_records_the_rule_and_rerun_keeps_it(extract: Path, tmp_path: Path) -> None:
    run = score_and_publish(extract, tmp_path / "runs", Policy(class_rule="typical"), "2024-03")
    m = open_run(run).manifest.to_dict()
    assert m["policy"]["class_rule"] == "typical"
    assert m["weight_basis"] == {"exact": 2, "ho_class_typical": 6}
    assert {(r["rule"], r["crimes"]) for r in m["weight_rules"]} == {
        ("exact", 2),
        ("ho_class", 3),
        ("ho_class_respelt", 2),
        ("ho_class_in_offence_code", 1),
    }
    assert m["class_rule"]["months"] == [EXPECTED["typical"]]
    names = {t["name"] for t in m["class_rule"]["tables"]}
    assert names == {"retired_subclasses", "class_typical"}
    assert all(len(t["sha256"]) == 64 for t in m["class_rule"]["tables"])
    got = CliRunner().invoke(app, ["rerun", str(run)])
    assert got.exit_code == 0, got.output
    again = open_run(Path(got.stdout.strip().splitlines()[-1])).manifest.to_dict()
    assert again["policy"]["class_rule"] == "typical"
    for name in ("victim_list", "offender_list", "dyads"):
        assert again["outputs"][name]["sha256"] == m["outputs"][name]["sha256"]


def test_cli_score_takes_the_rule_and_refuses_an_unknown_one(extract: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(
        app, ["score", str(extract), "--out", str(tmp_path / "r"), "--months", "2024-03"]
    )
    assert got.exit_code == 0, got.output
    assert (
        "class-level rule lowest: 1902.00 of 2459.50 days in 2024-03's window weighted at class "
        "level (3505.50 under typical); 0 listed only under lowest, 1 more under typical"
    ) in got.stdout
    manifest = json.loads((Path(got.stdout.strip().splitlines()[-1]) / "manifest.json").read_text())
    assert manifest["policy"]["class_rule"] == "lowest"
    got = runner.invoke(
        app, ["score", str(extract), "--out", str(tmp_path / "r"), "--class-rule", "median"]
    )
    assert got.exit_code == 2
    assert got.stderr.strip() == "chi: class_rule must be one of lowest, typical, not 'median'"
    got = runner.invoke(app, ["validate", str(extract), "--class-rule", "typical"])
    assert got.exit_code == 0
    assert "ho_class_typical  ho_class_in_offence_code  1" in got.stdout


def test_chi_toml_sets_the_rule(tmp_path: Path) -> None:
    from chi.scoring.policy import load_policy

    cfg = tmp_path / "chi.toml"
    cfg.write_text('[policy]\nclass_rule = "typical"\n', encoding="utf-8")
    assert load_policy(cfg).class_rule == "typical"
    assert load_policy(cfg, class_rule="lowest").class_rule == "lowest"


def test_data_quality_page_says_what_depends_on_the_rule(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_fixtures import Fixture, app_test, goto, make_app_env, table

    run = score_and_publish(extract, tmp_path / "runs", Policy(), "2024-03")
    fixture = Fixture(extract, tmp_path / "runs", open_run(run).run_id, ["2024-03"])
    env = make_app_env(tmp_path / "app", fixture)
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = goto(app_test(env, "analyst").run(), "quality")
    assert not at.exception
    assert "Crimes with only a Home Office class" in [h.value for h in at.subheader]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Harm weighted at class level, 2024-03"] == "1,902.0 days"
    assert metrics["The same crimes under 'typical'"] == "3,505.5 days"
    assert metrics["Listed people with such a crime"] == "2"
    assert metrics["Listed"] == "3"
    assert metrics["Listed only under 'lowest'"] == "0"
    assert metrics["Would be added under 'typical'"] == "1"
    assert [m.delta for m in at.metric if m.label.startswith("Harm weighted")] == [
        "77.3% of all harm"
    ]
    rules = next(t for t in (table(at, i) for i in range(len(at.dataframe))) if "rule" in t[0])
    assert {(r["rule"], r["crimes"]) for r in rules} == {
        ("exact", 2),
        ("ho_class", 3),
        ("ho_class_respelt", 2),
        ("ho_class_in_offence_code", 1),
    }


def test_validate_says_what_class_level_crimes_weigh_under_each_rule(extract: Path) -> None:
    got = CliRunner().invoke(app, ["validate", str(extract)])
    assert got.exit_code == 0, got.output
    # 6 class-level crimes: 19 + 19 + 19 + 1825 + 10 + 10; typical 547.5 x 3 + 1825 + 19 x 2
    assert (
        "6 recorded crimes weighted at class level: 1902.00 days under lowest, "
        "3505.50 under typical"
    ) in got.stdout


def test_the_run_keeps_each_victimisations_rule(extract: Path, tmp_path: Path) -> None:
    run = open_run(score_and_publish(extract, tmp_path / "runs", Policy(), "2024-03"))
    rows = {
        r["crime_id"]: (r["basis"], r["weight_rule"])
        for r in run.table("victimisations").to_pylist()
    }
    assert rows["A2"] == ("ho_class_min", "ho_class_respelt")
    assert rows["E1"] == ("ho_class_min", "ho_class_in_offence_code")
    assert rows["D1"] == ("exact", "exact")
