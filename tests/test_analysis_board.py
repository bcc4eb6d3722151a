"""The board's safeguarding table: the exact test, its classification on hand-made monthly
counts, the windows, the n/a cells, and the offence groups each row counts."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from chi import sql
from chi.analysis.board import (
    BOARD_GROUPS,
    board_row,
    board_table,
    classify,
    display_rows,
    group_mask,
    poisson_two_sided,
    previous_year_end,
)
from chi.analysis.outcomes import prosecution_possible_rate
from chi.months import add_months
from chi.offences import GROUPS, group_params, groups_of, in_group
from chi.reference import weight_sets


def test_exact_poisson_test_by_hand() -> None:
    # Poisson(10): P(17) = 0.012764; counts no more likely than 17 are 0..3 (P(X<=3) =
    # 0.010336) and 17 and above (0.027035): p = 0.0374, below 5% -> Higher.
    assert poisson_two_sided(17, 10) == pytest.approx(0.03738, abs=1e-4)
    verdict, p = classify(17, 10.0)
    assert verdict == "Higher" and p == pytest.approx(0.03738, abs=1e-4)
    # P(4) = 0.018917: 0..4 (0.029253) and 17 and above (0.027035): p = 0.0563 -> Comparable.
    assert classify(4, 10.0)[0] == "Comparable"
    # P(3) = 0.007567: 0..3 (0.010336) and 18 and above (0.014278): p = 0.0246 -> Lower.
    assert classify(3, 10.0)[0] == "Lower"
    assert classify(10, 10.0)[0] == "Comparable"
    assert classify(0, 0.0) == ("Comparable", 1.0)
    assert classify(2, 0.0)[0] == "Higher"
    assert classify(5, None) == (None, None)


def _months(first: date, counts: list[int]) -> dict[date, int]:
    return {add_months(first, i): n for i, n in enumerate(counts)}


def test_board_row_on_hand_made_counts() -> None:
    first = date(2023, 1, 1)
    monthly = _months(first, [10] * 12 + [17])  # 2023-01..2023-12 at 10, then 17 in 2024-01
    row = board_row("x", "X", monthly, date(2024, 1, 1), first, year_end_month=12)
    assert row.this_month == 17 and row.one_year_ago == 10
    assert row.two_years_ago is None and row.three_years_ago is None
    assert row.average_1y == 10 and row.versus_1y == "Higher"
    assert row.average_3y is None and row.versus_3y is None  # needs 36 earlier months
    assert row.rolling_12 == 11 * 10 + 17
    assert row.baseline == 120  # January to December 2023, the previous year-end
    assert row.baseline_change == pytest.approx(127 / 120 - 1)
    march = board_row("x", "X", monthly, date(2024, 1, 1), first, year_end_month=3)
    assert march.baseline is None  # April 2022 to March 2023 is partly before the extract


def test_three_year_average_once_36_months_exist() -> None:
    first = date(2021, 1, 1)
    monthly = _months(first, [20] * 24 + [10] * 12 + [7])
    row = board_row("x", "X", monthly, date(2024, 1, 1), first)
    assert row.average_1y == 10 and row.versus_1y == "Comparable"
    assert row.average_3y == pytest.approx((24 * 20 + 12 * 10) / 36)
    assert row.versus_3y == "Lower"
    assert (row.one_year_ago, row.two_years_ago, row.three_years_ago) == (10, 20, 20)


def test_previous_year_end() -> None:
    assert previous_year_end(date(2024, 12, 1), 3) == date(2024, 3, 1)
    assert previous_year_end(date(2024, 3, 1), 3) == date(2023, 3, 1)
    assert previous_year_end(date(2024, 1, 1), 12) == date(2023, 12, 1)


def _crime(
    cid: str, day: str, code: str | None, ho: str | None = None, **kw: object
) -> dict[str, object]:
    row = {
        "crime_id": cid,
        "recorded_date": date.fromisoformat(day),
        "offence_code": code,
        "ho_class": ho,
        "domestic_abuse": False,
        "outcome_code": None,
    }
    row.update(kw)
    return row


def test_board_table_counts_groups_and_says_na() -> None:
    rows = [
        _crime("R1", "2024-01-03", "19C.19.8.0", domestic_abuse=True, outcome_code=1),
        _crime("R2", "2024-01-09", "19D.19.7.0"),  # rape of a child: rape, SSO and CSAE
        _crime("S1", "2024-01-10", "99.99.25.0"),  # modern slavery (CHI key in group 99)
        _crime("I1", "2024-01-12", "86.86.2.0"),  # indecent images of children: CSAE
        _crime("A1", "2024-01-15", "8N.8.6.0", domestic_abuse=True, outcome_code=16),
        _crime("F1", "2023-12-02", None, "053/40"),  # no key: fraud by its class
    ]
    crimes = pl.DataFrame(rows)
    table = board_table(crimes, date(2024, 1, 1), date(2023, 12, 1), "test")
    by = {r.group: r for r in table.rows}
    assert [r.group for r in table.rows] == [g.name for g in BOARD_GROUPS]
    assert by["domestic_abuse"].this_month == 2
    assert by["rape"].this_month == 2
    assert by["serious_sexual_offences"].this_month == 2
    assert by["child_sexual_abuse_exploitation"].this_month == 2
    assert by["modern_slavery_trafficking"].this_month == 1
    assert by["fraud"].this_month == 0 and by["fraud"].one_year_ago is None
    assert by["domestic_abuse"].average_1y is None
    assert by["domestic_abuse"].outcome is None  # the 12 months are not all in the extract
    cells = dict(zip([g.name for g in BOARD_GROUPS], display_rows(table), strict=True))
    assert cells["rape"][5] == "n/a (needs 12 months)"
    assert cells["rape"][6] == "n/a (needs 36 months)"
    assert cells["rape"][2] == "n/a"
    assert any(n.startswith("n/a: the extract covers months from 2023-12") for n in table.notes)
    no_fraud = board_table(
        crimes.filter(pl.col("crime_id") != "F1"), date(2024, 1, 1), date(2023, 12, 1), "test"
    )
    assert "fraud" not in [r.group for r in no_fraud.rows]  # shown only where present


def test_group_mask_matches_the_registry() -> None:
    crimes = pl.DataFrame(
        [
            _crime("1", "2024-01-01", "23.23.12.0", "023/12"),  # adult relatives: excluded
            _crime("2", "2024-01-01", "23.23.4.0"),
            _crime("3", "2024-01-01", None, "019/08"),
            _crime("4", "2024-01-01", "33A.53.43.0"),
        ]
    )
    for group in BOARD_GROUPS[1:]:
        mask = group_mask(crimes, group).to_list()
        expected = [
            in_group(GROUPS[group.name], r["offence_code"], r["ho_class"])
            for r in crimes.iter_rows(named=True)
        ]
        assert mask == expected
    assert groups_of("23.23.12.0", "023/12") == ["sexual_offences"]
    assert "child_sexual_abuse_exploitation" in groups_of("23.23.4.0", None)
    assert "rape" in groups_of(None, "019/08")
    assert groups_of("33A.53.43.0", None) == ["fraud"]
    assert groups_of("99.99.25.0", None) == ["modern_slavery_trafficking"]


def test_python_and_sql_agree_for_every_group_on_every_weight_row() -> None:
    rows: list[tuple[str | None, str | None]] = [(None, None), ("99.99.25.0", None)]
    for ws in weight_sets().values():
        frame = pl.read_csv(ws.path, infer_schema=False)
        rows += [(r["offence_key"], r["ho_class"]) for r in frame.iter_rows(named=True)]
    rows += [(None, h) for _, h in rows] + [(c, None) for c, _ in rows]
    con = duckdb.connect()
    con.register("o", pl.DataFrame(rows, schema=["code", "ho"], orient="row"))
    for macro in ("class_number_macro", "subclass_macro", "in_group_macro"):
        sql.run(con, f"reference/{macro}")
    group_type = (
        "struct(label varchar, classes integer[], codes varchar[], subclasses varchar[], "
        "excluded varchar[])"
    )
    for group in GROUPS.values():
        got = con.sql(
            f"select code, ho, in_offence_group($g::{group_type}, code, ho) from o",
            params={"g": group_params([group])[0]},
        ).fetchall()
        for code, ho, in_sql in got:
            assert in_sql == in_group(group, code, ho), (group.name, code, ho)
        assert any(s for *_, s in got), group.name


def test_prosecution_possible_rate_counts_open_crimes_in_the_denominator() -> None:
    rate = prosecution_possible_rate(pl.Series([1, 3, 5, 8, 16, 22, None, None], dtype=pl.Int64))
    assert (rate.crimes, rate.prosecution_possible, rate.open) == (8, 3, 2)
    assert rate.rate == 3 / 8 and rate.open_share == 0.25
