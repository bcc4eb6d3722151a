"""The staged tables are identical to the staging before issue 15a.

``sql/staging/crimes.sql`` resolves each distinct (offence_code, ho_class) pair once and
joins the crimes to the result; the row-by-row original is kept in
``tests/ref_v1/staging_crimes.sql``. Both are run on the same prepared extract and compared
row for row, column for column (types included), under both class rules, with and without
the historic-offence rule, on every spelling of every offence code the resolution knows
(``tests/test_offence_codes.py``), each sent several times and with missing codes, and on a
generated extract with its defects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factory import crime, person, victim, write_extract
from test_offence_codes import CASES

from chi import sql
from chi.scoring.policy import Policy
from chi.scoring.prepare import Prepared, prepare

REFERENCE = Path(__file__).parent / "ref_v1" / "staging_crimes.sql"


@pytest.fixture(scope="module")
def codes_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    crimes = []
    for copy in range(3):  # each pair several times, on other dates, some historic
        for cid, code, cls, *_ in CASES:
            crimes.append(
                crime(
                    f"{cid}-{copy}",
                    f"2024-0{copy + 3}-05",
                    occurred="2019-01-01" if copy == 2 else f"2024-0{copy + 3}-01",
                    offence_code=code,
                    ho_class=cls,
                    lsoa_code=" e01017953 " if copy == 1 else None,
                )
            )
    crimes += [
        crime("N1", "2024-03-06", offence_code=None, ho_class=None),
        crime("N2", "2024-03-07", offence_code=None, ho_class=None),
        crime("N3", "2024-03-08", offence_code="", ho_class=""),
        crime("N4", "2024-03-09", offence_code="  ", ho_class="8/1"),
    ]
    persons = [person("P1")]
    victims = [victim(c["crime_id"], "P1") for c in crimes]
    return write_extract(tmp_path_factory.mktemp("staging") / "x", crimes, persons, victims)


def _assert_same_crimes(p: Prepared, policy: Policy) -> int:
    params = {
        "historic_months": policy.historic_months,
        "historic_counted": policy.historic_counted,
        "class_rule": policy.class_rule,
    }
    reference = REFERENCE.read_text(encoding="utf-8")
    cur = p.con.cursor()
    bound = {k: params[k] for k in sorted(sql.named_parameters(reference))}
    cur.sql(f"create or replace table crimes_reference as {reference}", params=bound)
    cols = ", ".join(f'"{c}"' for c in p.con.cursor().sql("select * from crimes").columns)
    order = "order by crime_id"
    got = p.con.cursor().sql(f"select {cols} from crimes {order}").fetchall()
    want = p.con.cursor().sql(f"select {cols} from crimes_reference {order}").fetchall()
    assert got == want
    types = p.con.cursor().sql("select * from crimes").types
    assert types == p.con.cursor().sql("select * from crimes_reference").types
    return len(got)


@pytest.mark.parametrize("weights", ["chi2020", "ons_css"])
@pytest.mark.parametrize("class_rule", ["lowest", "typical"])
@pytest.mark.parametrize("historic", [None, 24])
def test_every_offence_code_spelling_stages_as_before(
    codes_extract: Path, weights: str, class_rule: str, historic: int | None
) -> None:
    policy = Policy(
        weights=weights, class_rule=class_rule, historic_months=historic, historic_counted=False
    )
    with prepare(codes_extract, policy=policy) as p:
        n = _assert_same_crimes(p, policy)
        bases = {b for (b,) in p.con.cursor().sql("select distinct basis from crimes").fetchall()}
        historic_rows = p.con.cursor().sql("select count(*) from crimes where historic").fetchall()
    # N1-N3 have no offence at all and are rejected (checks/crimes_no_offence); N4 stays.
    assert n == 3 * len(CASES) + 1
    # The comparison covers every basis, and the historic rule where it is on.
    class_basis = "ho_class_typical" if class_rule == "typical" else "ho_class_min"
    assert bases >= {"exact", class_basis, "group_min", "unmatched"}
    assert historic_rows == [(len(CASES) if historic else 0,)]


@pytest.mark.parametrize("class_rule", ["lowest", "typical"])
def test_generated_extract_stages_as_before(generated_extract: Path, class_rule: str) -> None:
    policy = Policy(class_rule=class_rule, historic_months=12)
    with prepare(generated_extract, policy=policy) as p:
        assert _assert_same_crimes(p, policy) > 1000
