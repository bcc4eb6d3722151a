"""The list computation as it was before change-point windows (issue 15), kept as the
reference the current implementation must match table for table.

``reference_lists`` runs the original ``sql/lists`` statements (copied beside this file,
unchanged) on a prepared extract, exactly as ``chi.scoring.score.score`` ran them then: range joins
of list months x person-months. ``validate_v1.py`` is the original check loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from chi import sql
from chi.scoring.prepare import Prepared
from chi.scoring.score import Lists, _create_list_months, _create_victim_sizing

HERE = Path(__file__).resolve().parent


def _text(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def _create(p: Prepared, table: str, name: str, params: dict[str, Any] | None = None) -> None:
    text = _text(name)
    wanted = sql.named_parameters(text)
    bound = {k: (params or {})[k] for k in sorted(wanted)}
    stmt = f"create or replace table {table} as\n{text}"
    cur = p.con.cursor()
    if bound:
        cur.sql(stmt, params=bound)
    else:
        cur.sql(stmt)


def _in_range(p: Prepared, table: str) -> pa.Table:
    return (
        p.con.cursor()
        .sql(f"select * exclude (in_range) from {table} where in_range order by month, rank")
        .to_arrow_table()
    )


def reference_lists(p: Prepared, months: list[str]) -> Lists:
    pol = p.policy
    _create_list_months(p, months)
    _create(p, "person_months", "person_months")
    _create(
        p,
        "victim_list_all",
        "victim_list",
        {"min_harm": pol.min_harm, "min_crimes": pol.min_crimes},
    )
    victim_exits = p.con.cursor().sql(_text("victim_exits")).to_arrow_table()
    _create(p, "offender_crimes", "offender_crimes")
    _create(p, "da_links", "da_links")
    _create(p, "da_serial", "da_serial")
    _create(
        p,
        "offender_list_all",
        "offender_list",
        {
            "min_harm": pol.offender_min_harm,
            "min_crimes": pol.offender_min_crimes,
            "rfg_recency": pol.rfg_recency,
            "rfg_frequency": pol.rfg_frequency,
            "rfg_gravity": pol.rfg_gravity,
        },
    )
    _create(p, "dyads_all", "dyads", {"min_harm": pol.min_harm})
    return Lists(
        months=list(months),
        victim_list=_in_range(p, "victim_list_all"),
        victim_exits=victim_exits,
        offender_list=_in_range(p, "offender_list_all"),
        dyads=_in_range(p, "dyads_all"),
        victim_sizing=_victim_sizing(p),  # a later step over the list (issue 16), not compared
    )


def _victim_sizing(p: Prepared) -> pa.Table:
    _create_victim_sizing(p)
    return sql.run(p.con, "publish/victim_sizing").to_arrow_table()
