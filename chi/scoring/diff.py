"""Who entered and who left each list between two runs, and why.

An analyst changing a threshold or the weight set needs to see the consequence before
publishing. For each month both runs cover, a person listed in one run and not the other is
reported with their harm and crimes *under each run's own policy and weights* (recomputed
from each run's victimisations for the person who is not listed there), and a sentence saying
which threshold they meet or miss.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from chi.months import add_months, parse_month
from chi.scoring.runs import Run
from chi.sql import literal as _literal

DIFF_COLUMNS = [
    "list",
    "month",
    "person_id",
    "change",
    "rank_a",
    "rank_b",
    "harm_a",
    "harm_b",
    "crimes_a",
    "crimes_b",
    "why",
]


def _window_totals(con: duckdb.DuckDBPyConnection, run: Run, alias: str, months: list[str]) -> None:
    """Victim harm and crimes per (month, person) for everyone in ``run``'s windows."""
    w = int(run.manifest.policy["window_months"])
    rows = [(m, add_months(parse_month(m), 1 - w), parse_month(m)) for m in months]
    values = (
        ", ".join(
            f"({_literal(m)}, date {_literal(s.isoformat())}, date {_literal(e.isoformat())})"
            for m, s, e in rows
        )
        or "(null, null, null)"
    )
    con.cursor().sql(
        f"""
        create or replace table totals_{alias} as
        with months(month, window_start, month_start) as (values {values})
        select m.month, v.person_id,
               coalesce(sum(v.weight), 0) as harm, count(*) as crimes
        from months as m
        inner join read_parquet({_literal(run.file("victimisations").as_posix())}) as v
            on v.counted
            and cast(date_trunc('month', v.recorded_date) as date)
                between m.window_start and m.month_start
        group by all
        """
    )


def _why(
    change: str, reasons: list[str], other: dict[str, Any], policy: dict[str, Any], label: str
) -> str:
    listed = ", ".join(reasons) if reasons else "no reason recorded"
    h = Decimal(str(policy["min_harm"]))
    r = int(policy["min_crimes"])
    harm = other.get("harm")
    crimes = other.get("crimes")
    if harm is None:
        miss = f"{label}: not listed"
    else:
        miss = (
            f"{label}: harm {Decimal(str(harm)):.2f} < {h} and crimes {crimes} < {r}"
            if Decimal(str(harm)) < h and int(crimes or 0) < r
            else f"{label}: harm {Decimal(str(harm)):.2f}, crimes {crimes} (not eligible)"
        )
    side = "B" if change == "entered" else "A"
    return f"{side} lists for {listed}; {miss}"


def diff_runs(a: Run, b: Run, month: str | None = None) -> pl.DataFrame:
    """Entries and exits between run ``a`` and run ``b`` for the victim and offender lists."""
    months_a = set(a.manifest.months)
    months_b = set(b.manifest.months)
    months = sorted(months_a & months_b)
    if month is not None:
        if month not in months:
            raise ValueError(f"month {month} is not in both runs")
        months = [month]
    con = duckdb.connect()
    try:
        _window_totals(con, a, "a", months)
        _window_totals(con, b, "b", months)
        month_list = ", ".join(_literal(m) for m in months) or "null"
        out: list[dict[str, Any]] = []
        for list_name in ("victim_list", "offender_list"):
            fa = _literal(a.file(list_name).as_posix())
            fb = _literal(b.file(list_name).as_posix())
            rows = (
                con.cursor()
                .sql(
                    f"""
                    with la as (select * from read_parquet({fa}) where month in ({month_list})),
                         lb as (select * from read_parquet({fb}) where month in ({month_list}))
                    select coalesce(la.month, lb.month) as month,
                           coalesce(la.person_id, lb.person_id) as person_id,
                           case when la.person_id is null then 'entered' else 'left' end
                               as change,
                           la.rank as rank_a, lb.rank as rank_b,
                           coalesce(la.harm_days, ta.harm) as harm_a,
                           coalesce(lb.harm_days, tb.harm) as harm_b,
                           coalesce(la.crimes, ta.crimes) as crimes_a,
                           coalesce(lb.crimes, tb.crimes) as crimes_b,
                           coalesce(la.reasons, lb.reasons) as reasons
                    from la full outer join lb using (month, person_id)
                    left join totals_a as ta
                        on ta.month = coalesce(la.month, lb.month)
                        and ta.person_id = coalesce(la.person_id, lb.person_id)
                    left join totals_b as tb
                        on tb.month = coalesce(la.month, lb.month)
                        and tb.person_id = coalesce(la.person_id, lb.person_id)
                    where la.person_id is null or lb.person_id is null
                    order by month, change, coalesce(lb.rank, la.rank), person_id
                    """
                )
                .pl()
            )
            offenders = list_name == "offender_list"
            for r in rows.iter_rows(named=True):
                entered = r["change"] == "entered"
                other_side = "a" if entered else "b"
                run = a if entered else b
                pol = dict(run.manifest.policy)
                if offenders:
                    pol["min_harm"] = pol["offender_min_harm"]
                    pol["min_crimes"] = pol["offender_min_crimes"]
                other = (
                    {}
                    if offenders
                    else {"harm": r[f"harm_{other_side}"], "crimes": r[f"crimes_{other_side}"]}
                )
                if not offenders and other["harm"] is None:
                    other = {"harm": 0, "crimes": 0}
                out.append(
                    {
                        "list": list_name.removesuffix("_list"),
                        **{k: r[k] for k in DIFF_COLUMNS[1:10]},
                        "why": _why(
                            r["change"],
                            list(r["reasons"] or []),
                            other,
                            pol,
                            "A" if entered else "B",
                        ),
                    }
                )
    finally:
        con.close()
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "list": pl.String,
        "month": pl.String,
        "person_id": pl.String,
        "change": pl.String,
        "rank_a": pl.Int32,
        "rank_b": pl.Int32,
        "harm_a": pl.Decimal(18, 2),
        "harm_b": pl.Decimal(18, 2),
        "crimes_a": pl.Int64,
        "crimes_b": pl.Int64,
        "why": pl.String,
    }
    return pl.DataFrame(out, schema=schema)
