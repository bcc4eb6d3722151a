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

from chi import sql
from chi.months import add_months, parse_month
from chi.scoring.runs import Run

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
    windows = [
        {
            "month": m,
            "window_start": add_months(parse_month(m), 1 - w),
            "month_start": parse_month(m),
        }
        for m in months
    ]
    sql.create_table(
        con,
        f"totals_{alias}",
        "diff/window_totals",
        {"windows": windows, "victimisations": run.file("victimisations").as_posix()},
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
        out: list[dict[str, Any]] = []
        for list_name in ("victim_list", "offender_list"):
            files = {"list_a": a.file(list_name).as_posix(), "list_b": b.file(list_name).as_posix()}
            rows = sql.run(con, "diff/entries_exits", {**files, "months": months}).pl()
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
