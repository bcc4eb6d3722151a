"""The scoring definitions of contract §3, each on a hand-made extract with hand-computed
expectations (weights from the CHI 2020 sheet: ABH 10 days, GBH s20 serious wound 547.5,
murder 5,475, shoplifting 1)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from factory import (
    ABH,
    GBH_S20,
    HOME_A,
    LSOA_B,
    MURDER,
    crime,
    person,
    suspect,
    victim,
    write_extract,
)

from chi.months import parse_months
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.score import Lists, complete_months, score

ARBURY = "E05013051"  # ward of HOME_A
BARNACK = "E05010805"  # ward of LSOA_B


def run_lists(folder: Path, months: str, policy: Policy | None = None, **extract: Any) -> Lists:
    write_extract(folder, **extract)
    with prepare(folder, policy=policy) as p:
        return score(p, parse_months(months))


def rows(table: Any, month: str | None = None) -> list[dict[str, Any]]:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if month is not None:
        frame = frame.filter(pl.col("month") == month)
    return frame.to_dicts()


def by_person(table: Any, month: str) -> dict[str, dict[str, Any]]:
    return {r["person_id"]: r for r in rows(table, month)}


def test_crime_with_several_victims_gives_each_the_full_weight(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-06",
        Policy(min_harm=Decimal(500), min_crimes=3),
        crimes=[crime("C1", "2024-06-10", offence_code=GBH_S20)],
        persons=[person("A"), person("B"), person("C")],
        victims=[victim("C1", "A"), victim("C1", "B"), victim("C1", "C")],
    )
    listed = by_person(lists.victim_list, "2024-06")
    assert sorted(listed) == ["A", "B", "C"]
    assert {r["harm_days"] for r in listed.values()} == {Decimal("547.50")}
    assert {r["crimes"] for r in listed.values()} == {1}


def test_window_includes_both_end_months_and_nothing_outside(tmp_path: Path) -> None:
    # Window for 2024-12 with W=12 is 2024-01-01 .. 2024-12-31.
    lists = run_lists(
        tmp_path,
        "2024-12",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=[
            crime("C0", "2023-12-31"),  # the day before the window: out
            crime("C1", "2024-01-01"),  # first day of the window: in
            crime("C2", "2024-12-31"),  # last day of the list month: in
        ],
        persons=[person("A")],
        victims=[victim("C0", "A"), victim("C1", "A"), victim("C2", "A")],
        as_of="2025-01-05",
    )
    [a] = rows(lists.victim_list, "2024-12")
    assert a["crimes"] == 2
    assert a["harm_days"] == Decimal("20.00")
    assert str(a["last_recorded_date"]) == "2024-12-31"


def test_window_length_is_the_policy_window(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-12",
        Policy(window_months=3, min_harm=Decimal(1), min_crimes=1),
        crimes=[crime("C1", "2024-09-30"), crime("C2", "2024-10-01")],
        persons=[person("A")],
        victims=[victim("C1", "A"), victim("C2", "A")],
    )
    [a] = rows(lists.victim_list, "2024-12")
    assert a["crimes"] == 1  # only October..December


def test_weight_bases_and_unmatched_crimes(tmp_path: Path) -> None:
    crimes = [
        crime("C1", "2024-05-01", offence_code=ABH),  # exact: 10
        crime("C2", "2024-05-02", offence_code="XX.1", ho_class="8/1"),  # class 008/01 min: 19
        crime("C3", "2024-05-03", offence_code="28E.99.9.9"),  # group 28E min: 10
        crime("C4", "2024-05-04", offence_code="QQ.1.1.1"),  # unmatched
        crime("C5", "2024-05-05", offence_code=None, ho_class="008/01"),  # class only: 19
    ]
    folder = write_extract(
        tmp_path,
        crimes=crimes,
        persons=[person("A")],
        victims=[victim(c["crime_id"], "A") for c in crimes],
    )
    with prepare(folder, policy=Policy(min_harm=Decimal(1), min_crimes=1)) as p:
        got = dict(
            p.con.cursor()
            .sql(
                "select crime_id, basis || ':' || coalesce(cast(weight as varchar), '-') "
                "from crimes"
            )
            .fetchall()
        )
        lists = score(p, ["2024-05"])
        assert p.basis_counts() == {"exact": 1, "group_min": 1, "ho_class_min": 2, "unmatched": 1}
        assert p.unmatched_codes() == [("QQ.1.1.1", "(none)", 1)]
    assert got == {
        "C1": "exact:10.00",
        "C2": "ho_class_min:19.00",
        "C3": "group_min:10.00",
        "C4": "unmatched:-",
        "C5": "ho_class_min:19.00",
    }
    [a] = rows(lists.victim_list, "2024-05")
    assert a["harm_days"] == Decimal("58.00")  # 10 + 19 + 10 + 19; unmatched adds nothing
    assert a["crimes"] == 5  # but the unmatched victimisation still counts


def test_ons_weight_set_resolves_through_the_same_order(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path,
        crimes=[crime("C1", "2024-05-01", offence_code=ABH)],
        persons=[person("A")],
        victims=[victim("C1", "A")],
    )
    with prepare(folder, weights="ons_css") as p:
        [(w, basis)] = p.con.cursor().sql("select weight, basis from crimes").fetchall()
    assert (w, basis) == (Decimal("189.15"), "exact")  # ONS CSS weight of code 8N


def test_cancelled_and_transferred_crimes_are_not_victimisations(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-05",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=[
            crime("C1", "2024-05-01"),
            crime("C2", "2024-05-02", status="cancelled", offence_code=MURDER),
            crime("C3", "2024-05-03", status="transferred", offence_code=MURDER),
        ],
        persons=[person("A")],
        victims=[victim("C1", "A"), victim("C2", "A"), victim("C3", "A")],
    )
    [a] = rows(lists.victim_list, "2024-05")
    assert (a["harm_days"], a["crimes"]) == (Decimal("10.00"), 1)


def test_deceased_and_organisation_victims_are_not_eligible(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-05:2024-07",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=[crime("C1", "2024-05-10", offence_code=MURDER), crime("C2", "2024-05-11")],
        persons=[
            person("DEAD", deceased_date="2024-06-30"),  # dies on the last day of June
            person("SHOP", person_type="organisation", sex=None, birth_date=None),
        ],
        victims=[victim("C1", "DEAD"), victim("C2", "SHOP")],
    )
    assert sorted(by_person(lists.victim_list, "2024-05")) == ["DEAD"]
    assert by_person(lists.victim_list, "2024-06") == {}  # deceased on or before month end
    exits = rows(lists.victim_exits, "2024-06")
    assert [(e["person_id"], e["reason"]) for e in exits] == [("DEAD", "deceased")]


def test_neighbourhood_attribution_and_its_tie_break(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-05",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=[
            crime("C1", "2024-05-01", lsoa_code=LSOA_B),
            crime("C2", "2024-05-01", lsoa_code=HOME_A),
            crime("C3", "2024-05-02", lsoa_code=HOME_A),
            crime("C4", "2024-05-09", lsoa_code=None),  # latest, but no place
            crime("C5", "2024-05-03", lsoa_code=None),
            crime("C6", "2024-05-04", lsoa_code="E01099999"),  # out of force: unmapped
        ],
        persons=[
            person("HOME", home_lsoa_code=LSOA_B),  # home wins over crime places
            person("TIE"),  # C1 and C2 same day: larger crime_id C2 -> HOME_A
            person("LATEST"),  # latest mapped is C3 (C4 has no LSOA)
            person("NONE", home_lsoa_code="E01099999"),  # home unmapped, crimes unmapped
        ],
        victims=[
            victim("C3", "HOME"),
            victim("C1", "TIE"),
            victim("C2", "TIE"),
            victim("C3", "LATEST"),
            victim("C4", "LATEST"),
            victim("C5", "NONE"),
            victim("C6", "NONE"),
        ],
    )
    got = {k: v["neighbourhood_code"] for k, v in by_person(lists.victim_list, "2024-05").items()}
    assert got == {"HOME": BARNACK, "TIE": ARBURY, "LATEST": ARBURY, "NONE": "unknown"}


def test_thresholds_status_and_exits(tmp_path: Path) -> None:
    # A: one GBH in March (547.5 days) -> listed Mar..Feb next year on harm.
    # B: three ABH (Jan, Feb, Apr) -> repeat from April; window 3 months drops Jan in May.
    lists = run_lists(
        tmp_path,
        "2024-03:2024-05",
        Policy(window_months=3, min_harm=Decimal(365), min_crimes=3),
        crimes=[
            crime("G", "2024-03-15", offence_code=GBH_S20),
            crime("B1", "2024-02-10"),
            crime("B2", "2024-03-10"),
            crime("B3", "2024-04-10"),
        ],
        persons=[person("A"), person("B")],
        victims=[victim("G", "A"), victim("B1", "B"), victim("B2", "B"), victim("B3", "B")],
    )
    status = {
        m: {k: (v["status"], v["reasons"]) for k, v in by_person(lists.victim_list, m).items()}
        for m in ("2024-03", "2024-04", "2024-05")
    }
    assert status["2024-03"] == {"A": ("new", ["high_harm"])}
    assert status["2024-04"] == {
        "A": ("continuing", ["high_harm"]),
        "B": ("new", ["repeat"]),
    }
    assert status["2024-05"] == {"A": ("continuing", ["high_harm"])}
    exits = rows(lists.victim_exits, "2024-05")
    assert [(e["person_id"], e["crimes"], e["reason"]) for e in exits] == [
        ("B", 2, "below thresholds")
    ]


def test_status_of_first_month_looks_at_the_month_before(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-06",
        Policy(min_harm=Decimal(365), min_crimes=3),
        crimes=[crime("G", "2024-04-15", offence_code=GBH_S20)],
        persons=[person("A")],
        victims=[victim("G", "A")],
    )
    [a] = rows(lists.victim_list, "2024-06")
    assert a["status"] == "continuing"  # was listed in May, which is not in the range


def test_order_and_ranks_are_deterministic_under_ties(tmp_path: Path) -> None:
    crimes = [crime(f"C{i}", "2024-05-05") for i in range(4)] + [crime("L", "2024-05-20")]
    lists = run_lists(
        tmp_path,
        "2024-05",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=crimes,
        persons=[
            person("Z", home_lsoa_code=HOME_A),
            person("Y", home_lsoa_code=LSOA_B),
            person("X", home_lsoa_code=HOME_A),
            person("W", home_lsoa_code=HOME_A),
        ],
        # Z, Y, X: one ABH each on the same day (all tie on harm, crimes and date);
        # W: one ABH later in the month (wins the date tie-break).
        victims=[victim("C0", "Z"), victim("C1", "Y"), victim("C2", "X"), victim("L", "W")],
    )
    got = [(r["person_id"], r["rank"], r["neighbourhood_rank"]) for r in rows(lists.victim_list)]
    assert got == [("W", 1, 1), ("X", 2, 2), ("Y", 3, 1), ("Z", 4, 3)]


def test_reasons_child_domestic_abuse_and_also_suspect(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-05",
        Policy(min_harm=Decimal(1), min_crimes=1),
        crimes=[
            crime("C1", "2024-05-01", domestic_abuse=True, da_relationship="family"),
            crime("C2", "2024-05-02"),
            crime("OLD", "2023-01-02"),  # suspect outside the window: not also_suspect
        ],
        persons=[
            person("KID", birth_date="2006-06-01"),  # 17 on 2024-05-31
            person("ADULT", birth_date="2006-05-31"),  # 18 on 2024-05-31
            person("SUS"),
        ],
        victims=[victim("C1", "KID"), victim("C2", "ADULT"), victim("C2", "SUS")],
        suspects=[suspect("C1", "SUS"), suspect("OLD", "ADULT", "charged")],
    )
    got = {k: v["reasons"] for k, v in by_person(lists.victim_list, "2024-05").items()}
    assert got == {
        "KID": ["high_harm", "repeat", "domestic_abuse", "child"],
        "ADULT": ["high_harm", "repeat"],
        "SUS": ["high_harm", "repeat", "also_suspect"],
    }
    kid = by_person(lists.victim_list, "2024-05")["KID"]
    assert kid["da_crimes"] == 1


def test_historic_offence_rule(tmp_path: Path) -> None:
    extract = {
        "crimes": [
            crime("H", "2024-05-01", occurred="2010-01-01", offence_code=GBH_S20),
            crime("N", "2024-05-02", occurred="2024-04-20"),
        ],
        "persons": [person("A")],
        "victims": [victim("H", "A"), victim("N", "A")],
    }
    counted = run_lists(
        tmp_path / "a", "2024-05", Policy(min_harm=Decimal(1), historic_months=12), **extract
    )
    excluded = run_lists(
        tmp_path / "b",
        "2024-05",
        Policy(min_harm=Decimal(1), historic_months=12, historic_counted=False),
        **extract,
    )
    [a] = rows(counted.victim_list)
    [b] = rows(excluded.victim_list)
    assert (a["harm_days"], a["crimes"]) == (Decimal("557.50"), 2)
    assert (b["harm_days"], b["crimes"]) == (Decimal("10.00"), 1)


def test_offender_list_harm_victims_serial_da_and_rfg(tmp_path: Path) -> None:
    crimes = [
        # S: DA against two different partners within 36 months -> serial_da.
        crime("D1", "2022-01-10", domestic_abuse=True, da_relationship="ex_partner"),
        crime(
            "D2",
            "2024-05-10",
            domestic_abuse=True,
            da_relationship="intimate_partner",
            offence_code=GBH_S20,
        ),
        # T: one GBH with two victims in March (harm counted once per crime).
        crime("G", "2024-03-01", offence_code=GBH_S20),
        # U: one ABH in May, below every threshold.
        crime("U1", "2024-05-20"),
    ]
    lists = run_lists(
        tmp_path,
        "2024-05",
        Policy(offender_min_harm=Decimal(365), offender_min_crimes=3),
        crimes=crimes,
        persons=[person(x) for x in ("S", "T", "U", "V1", "V2", "V3", "V4", "V5")],
        victims=[
            victim("D1", "V1"),
            victim("D2", "V2"),
            victim("G", "V3"),
            victim("G", "V4"),
            victim("U1", "V5"),
        ],
        suspects=[
            suspect("D1", "S"),
            suspect("D2", "S", "charged"),
            suspect("G", "T"),
            suspect("U1", "U", "offender"),
        ],
    )
    got = by_person(lists.offender_list, "2024-05")
    assert sorted(got) == ["S", "T"]
    s, t = got["S"], got["T"]
    assert (s["harm_days"], s["crimes"], s["victims_count"], s["da_crimes"]) == (
        Decimal("547.50"),
        1,
        1,
        1,
    )
    assert (s["da_victims_36m"], s["serial_da"]) == (2, True)
    assert s["reasons"] == ["high_harm", "domestic_abuse", "serial_da", "charged"]
    assert (t["harm_days"], t["crimes"], t["victims_count"], t["serial_da"]) == (
        Decimal("547.50"),
        1,
        2,
        False,
    )
    # RFG among the three active offenders S, T, U in the window (weights 1, 1, 2):
    # recency: T (Mar 1) 0, S (May 10) 0.5, U (May 20) 1;  frequency: all 1 crime -> 0;
    # gravity: U (10) 0, S and T (547.5) 0.5.
    # S: (0.5 + 0 + 2 * 0.5) / 4 = 0.375 -> 37.5;  T: (0 + 0 + 1) / 4 = 0.25 -> 25.0
    assert s["rfg_score"] == Decimal("37.5")
    assert t["rfg_score"] == Decimal("25.0")
    assert [r["person_id"] for r in rows(lists.offender_list, "2024-05")] == ["S", "T"]


def test_dyads(tmp_path: Path) -> None:
    lists = run_lists(
        tmp_path,
        "2024-05",
        crimes=[
            crime("D0", "2023-02-01", domestic_abuse=True, da_relationship="intimate_partner"),
            crime("D1", "2024-01-10", domestic_abuse=True, da_relationship="intimate_partner"),
            crime("D2", "2024-04-10", domestic_abuse=True, da_relationship="ex_partner"),
            crime("N", "2024-04-11"),  # not DA: not part of the dyad
        ],
        persons=[person("O"), person("V", home_lsoa_code=LSOA_B)],
        victims=[
            victim("D0", "V"),
            victim("D1", "V", "medium"),
            victim("D2", "V", "high"),
            victim("N", "V"),
        ],
        suspects=[suspect("D0", "O"), suspect("D1", "O"), suspect("D2", "O"), suspect("N", "O")],
    )
    [d] = rows(lists.dyads, "2024-05")
    assert (d["offender_id"], d["victim_id"], d["crimes"], d["harm_days"]) == (
        "O",
        "V",
        2,
        Decimal("20.00"),
    )
    assert (str(d["first_recorded_date"]), str(d["last_recorded_date"])) == (
        "2023-02-01",
        "2024-04-10",
    )
    assert (d["relationship"], d["latest_dash_risk"], d["neighbourhood_code"]) == (
        "ex_partner",
        "high",
        BARNACK,
    )
    assert d["reasons"] == ["repeat", "high_risk"]
    assert d["status"] == "continuing"


def test_default_months_are_the_complete_months(tmp_path: Path) -> None:
    folder = write_extract(
        tmp_path,
        crimes=[crime("C1", "2024-02-10"), crime("C2", "2024-05-30")],
        persons=[person("A")],
        victims=[victim("C1", "A"), victim("C2", "A")],
        as_of="2024-05-30",  # May is not complete
    )
    with prepare(folder) as p:
        assert complete_months(p) == ["2024-02", "2024-03", "2024-04"]
