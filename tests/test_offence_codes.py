"""Offence codes as forces write them: every spelling resolves to the weight chi expects.

Each case is a hand-made crime; the expected weight and rule are read off the CHI 2020 sheet
(``data/weights/chi_2020.csv``) by hand: ABH 8N.8.6.0 = 10 days; subclass 008/01 (s.20 GBH)
lowest 19, typical 8N.8.1.1 = 547.5; 028/03 (residential burglary) lowest 10, typical
28E.28.3.1 = 19; Home Office code 4/3 (child destruction, 004/03) 4380; code 4/4 lowest 365
(serious injury by dangerous driving; death by dangerous driving is 1095); code 37/2 lowest
10; 019/08 (rape of a female 16+) lowest 1825; the lowest of offence group 8N is 2
(8N.8.20.0).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from factory import crime, person, victim, write_extract

from chi.offences import normal_ho_class
from chi.reference import offence_rules_path
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare

CASES: list[tuple[str, str | None, str | None, str, str, str, str | None, str]] = [
    # id, offence_code, ho_class, basis, rule, weight (lowest), weight (typical), ho_class staged
    ("K1", "8N.8.6.0", None, "exact", "exact", "10", None, ""),
    ("K2", "8n.8.6.0 ", None, "exact", "exact_respelt", "10", None, ""),
    ("K3", " 8N.8.6.0", "008/01", "exact", "exact", "10", None, "008/01"),
    ("H1", None, "008/01", "ho_class_min", "ho_class", "19", "547.5", "008/01"),
    ("H2", None, "8/1", "ho_class_min", "ho_class_respelt", "19", "547.5", "008/01"),
    ("H3", None, "08/01", "ho_class_min", "ho_class_respelt", "19", "547.5", "008/01"),
    ("H4", None, "8/01", "ho_class_min", "ho_class_respelt", "19", "547.5", "008/01"),
    ("H5", None, "00801", "ho_class_min", "ho_class_respelt", "19", "547.5", "008/01"),
    ("H6", None, " 28/3 ", "ho_class_min", "ho_class_respelt", "10", "19", "028/03"),
    ("O1", "028/03", None, "ho_class_min", "ho_class_in_offence_code", "10", "19", "028/03"),
    ("O2", "4/3", None, "group_min", "ho_offence_code", "4380", None, ""),
    ("O4", "4/4", None, "group_min", "ho_offence_code", "365", None, ""),
    ("O5", "37/2", None, "group_min", "ho_offence_code", "10", None, ""),
    ("O3", "8/1", "not known", "ho_class_min", "ho_class_in_offence_code", "19", "547.5", "008/01"),
    ("R1", None, "019/03", "ho_class_min", "retired_ho_class", "1825", "1825", "019/03"),
    ("R2", "19/27", None, "ho_class_min", "retired_ho_class", "1825", "1825", "019/27"),
    ("R3", None, "28/90", "ho_class_min", "retired_ho_class", "10", "19", "028/90"),
    ("S1", None, "8n.8.6.0", "exact", "key_in_ho_class", "10", None, ""),
    ("S2", "8/1", "8N.8.1.1", "exact", "key_in_ho_class", "547.5", None, "008/01"),
    ("G1", "8n.8.99.0", None, "group_min", "offence_group", "2", None, ""),
    ("U1", "ZZZ.1", None, "unmatched", "unmatched", "", None, ""),
    ("U2", None, "999/99", "unmatched", "unmatched", "", None, "999/99"),
]


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    crimes = [
        crime(cid, "2024-03-05", offence_code=code, ho_class=cls) for cid, code, cls, *_ in CASES
    ]
    persons = [person("P1")]
    victims = [victim(cid, "P1") for cid, *_ in CASES]
    return write_extract(tmp_path_factory.mktemp("codes") / "x", crimes, persons, victims)


def _staged(extract: Path, rule: str) -> dict[str, tuple[object, ...]]:
    with prepare(extract, policy=Policy(class_rule=rule)) as p:
        rows = (
            p.con.cursor()
            .sql(
                "select crime_id, basis, weight_rule, weight, weight_other, ho_class, "
                "offence_code from crimes"
            )
            .fetchall()
        )
    return {r[0]: r[1:] for r in rows}


def test_every_spelling_resolves_under_the_lowest_rule(extract: Path) -> None:
    got = _staged(extract, "lowest")
    for cid, _code, _cls, basis, rule, weight, typical, staged_class in CASES:
        b, r, w, other, ho_class, _key = got[cid]
        assert (b, r) == (basis, rule), cid
        assert w == (Decimal(weight) if weight else None), cid
        expected_other = Decimal(typical) if typical else (Decimal(weight) if weight else None)
        assert other == expected_other, cid
        assert (ho_class or "") == staged_class, cid


def test_the_typical_rule_changes_only_class_level_crimes(extract: Path) -> None:
    got = _staged(extract, "typical")
    for cid, _code, _cls, basis, rule, weight, typical, _staged_class in CASES:
        b, r, w, other, _ho_class, _key = got[cid]
        if basis == "ho_class_min":
            assert (b, r) == ("ho_class_typical", rule), cid
            assert w == Decimal(typical or weight), cid
            assert other == Decimal(weight), cid
        else:
            assert (b, r) == (basis, rule), cid
            assert w == (Decimal(weight) if weight else None), cid


def test_staged_offence_code_is_the_weight_sets_key(extract: Path) -> None:
    got = _staged(extract, "lowest")
    assert got["K2"][5] == "8N.8.6.0"
    assert got["K3"][5] == "8N.8.6.0"
    assert got["O1"][5] is None  # the class moved to ho_class
    assert got["G1"][5] == "8N.8.99.0"
    assert (got["S1"][4], got["S1"][5]) == (None, "8N.8.6.0")  # the key moved to offence_code
    assert (got["S2"][4], got["S2"][5]) == ("008/01", "8N.8.1.1")  # swapped columns


def test_counts_by_rule_reach_the_data_quality_report(extract: Path) -> None:
    with prepare(extract) as p:
        rules = {(b, r): n for b, r, n in p.rule_counts()}
    assert rules == {
        ("exact", "exact"): 2,
        ("exact", "exact_respelt"): 1,
        ("exact", "key_in_ho_class"): 2,
        ("ho_class_min", "ho_class"): 1,
        ("ho_class_min", "ho_class_respelt"): 5,
        ("ho_class_min", "ho_class_in_offence_code"): 2,
        ("ho_class_min", "retired_ho_class"): 3,
        ("group_min", "offence_group"): 1,
        ("group_min", "ho_offence_code"): 3,
        ("unmatched", "unmatched"): 2,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8/1", "008/01"),
        ("08/01", "008/01"),
        ("008/01", "008/01"),
        ("8/01", "008/01"),
        (" 8 / 1 ", "008/01"),
        ("00801", "008/01"),
        ("0008/01", "008/01"),
        ("000/00", "000/00"),
        ("4/3", "004/03"),
        ("106/01", "106/01"),
        ("8N.8.1.1", None),
        ("12/345", None),
        ("1000/01", None),
        ("8/", None),
        ("", None),
        (None, None),
    ],
)
def test_python_and_sql_normalise_classes_alike(text: str | None, expected: str | None) -> None:
    from chi import sql

    assert normal_ho_class(text) == expected
    con = duckdb.connect()
    con.sql(sql.load("staging/ho_class_macro"))
    [(got,)] = con.sql("select norm_ho_class($t)", params={"t": text}).fetchall()
    assert got == expected


def _sheet() -> list[dict[str, str]]:
    from chi.reference import load_weight_set

    with load_weight_set("chi2020").path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_retired_subclasses_are_retired_and_their_successors_current() -> None:
    """Every mapping names its source; a retired subclass is not a class of the CHI 2020 sheet
    (which follows the Home Office classification as of October 2020) and, where the file says
    so, its successor is; a mapping across classes is flagged."""
    classes = {normal_ho_class(r["ho_class"]) for r in _sheet()}
    with offence_rules_path("retired_subclasses").open(encoding="utf-8") as fh:
        rows = [{k: str(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    assert len(rows) == 150
    assert len({r["retired"] for r in rows}) == 150
    for r in rows:
        assert r["retired"] == normal_ho_class(r["retired"]), r
        assert r["successor"] == normal_ho_class(r["successor"]), r
        assert r["retired"] not in classes, r
        assert (r["successor"] in classes) == (r["successor_in_chi2020"] == "yes"), r
        assert (r["retired"][:3] != r["successor"][:3]) == (r["class_move"] == "yes"), r
        assert r["source"].startswith("mpjashby/harmspots code/01_wrangle_data.R@"), r
    # the example: the older rape subclasses are now 019/08
    older_rape = {r["retired"] for r in rows if r["successor"] == "019/08"}
    assert older_rape == {
        "019/03", "019/06", "019/27", "019/28", "019/29", "019/30", "019/32", "019/34",
        "019/36", "019/37",
    }  # fmt: skip


def test_class_typical_table_is_rebuilt_from_data() -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_offence_rules.py"
    spec = importlib.util.spec_from_file_location("build_offence_rules", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = offence_rules_path("class_typical").parents[1]
    built = module.build(data)
    assert offence_rules_path("class_typical").read_text(encoding="utf-8") == built
    rows = {r["ho_class"]: r for r in csv.DictReader(built.splitlines())}
    sheet_classes = {normal_ho_class(r["ho_class"]) for r in _sheet()}
    assert set(rows) == sheet_classes
    assert rows["008/01"]["offence_key"] == "8N.8.1.1"  # 8N is recorded far more than 8S
    assert rows["005/01"]["offence_key"] == "5D.5.1.0"  # 356 crimes against 8S's 81
    assert rows["125/12"]["offence_key"] == "9A.125.12.0"
    for r in rows.values():
        assert Decimal(r["weight_chi2020"]) >= Decimal(r["lowest_chi2020"])
        assert not r["offence_key"].endswith("A") or r["chosen_by"].startswith(
            ("only offence", "every offence is an attempt")
        )


def test_the_same_rules_resolve_against_the_ons_weights(extract: Path) -> None:
    """ONS CSS weights (data/weights/ons_css_2020.csv): 008/01 lowest 189.15 (8N), 019/08
    lowest 2952.94 (19C), 028/03 465.38; the typical offence 8N.8.1.1 is 189.15 too."""
    with prepare(extract, policy=Policy(weights="ons_css", class_rule="typical")) as p:
        got = {
            r[0]: r[1:]
            for r in p.con.cursor()
            .sql("select crime_id, basis, weight_rule, weight from crimes")
            .fetchall()
        }
    assert got["H2"] == ("ho_class_typical", "ho_class_respelt", Decimal("189.15"))
    assert got["R1"] == ("ho_class_typical", "retired_ho_class", Decimal("2952.94"))
    assert got["O1"] == ("ho_class_typical", "ho_class_in_offence_code", Decimal("465.38"))
    assert got["K2"][:2] == ("exact", "exact_respelt")


@pytest.mark.parametrize("weights", ["chi2020", "ons_css"])
def test_every_crime_is_staged_once(extract: Path, weights: str) -> None:
    """The joins of sql/staging/crimes.sql are one-to-one: keys are unique ignoring case, and a
    subclass has one successor and one typical offence."""
    with prepare(extract, policy=Policy(weights=weights)) as p:
        [(n, distinct)] = (
            p.con.cursor().sql("select count(*), count(distinct crime_id) from crimes").fetchall()
        )
        [(keys, upper_keys)] = (
            p.con.cursor()
            .sql("select count(*), count(distinct upper(offence_key)) from ref_weights")
            .fetchall()
        )
        [(retired, distinct_retired)] = (
            p.con.cursor()
            .sql("select count(*), count(distinct retired) from ref_retired")
            .fetchall()
        )
    assert n == distinct == len(CASES)
    assert keys == upper_keys
    assert retired == distinct_retired == 150


def test_every_spelling_of_every_class_normalises_alike() -> None:
    """Every class 000-999 with every seventh subclass, in each spelling forces use: Python and
    SQL both give the canonical CCC/SS (the SQL runs once over the whole set)."""
    from chi import sql

    spellings = ("{c}/{s}", "{c:02d}/{s:02d}", "{c:03d}/{s:02d}", "{c}/{s:02d}", " {c:03d}{s:02d} ")
    rows = [
        (fmt.format(c=c, s=s), f"{c:03d}/{s:02d}")
        for c in range(1000)
        for s in range(0, 100, 7)
        for fmt in spellings
    ]
    assert all(normal_ho_class(text) == want for text, want in rows)
    con = duckdb.connect()
    con.sql(sql.load("staging/ho_class_macro"))
    table = pa.table({"text": [t for t, _ in rows], "want": [w for _, w in rows]})
    con.register("spelt", table)
    [(wrong,)] = con.sql(
        "select count(*) from spelt where norm_ho_class(text) is distinct from want"
    ).fetchall()
    assert wrong == 0
