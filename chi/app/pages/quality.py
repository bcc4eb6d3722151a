"""The data quality page (analyst): the current run's validation summary and rejected rows.

Counts come from the run's manifest (rows read, accepted and rejected per table always
reconcile), rejects from its ``rejects.parquet``: every row that broke the contract, with the
reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.ui import current_run, guarded, require, run_caption
from chi.contract import PERSONAL_COLUMNS
from chi.exports.formats import Document, ExportMeta, export
from chi.scoring.manifest import Manifest
from chi.scoring.runs import Run

TITLE = "Data quality"
ICON = ":material/rule:"

_RULE_WORDS = {
    "lowest": "the lowest weight of the class (the contract's rule)",
    "typical": "the weight of the class's typical offence",
}


def render(ctx: PageContext) -> None:
    require(ctx, "quality")
    with guarded(ctx):
        run = current_run(ctx)
        st.title(TITLE)
        run_caption(run)
        ctx.record_once("data_quality_view", run_id=run.run_id)
        _counts(run.manifest)
        _weighting(run.manifest)
        _rejects(ctx, run)


def _counts(m: Manifest) -> None:
    """Rows read, accepted and rejected by table, and whether they reconcile."""
    counts = pl.DataFrame(
        [
            {
                "table": t,
                "read": c["read"],
                "accepted": c["accepted"],
                "rejected": c["rejected"],
                "reconciles": c["read"] == c["accepted"] + c["rejected"],
            }
            for t, c in m.counts.items()
        ]
    )
    rejected = int(counts["rejected"].sum()) if not counts.is_empty() else 0
    read = int(counts["read"].sum()) if not counts.is_empty() else 0
    a, b, c = st.columns(3)
    a.metric("Rows read", f"{read:,}")
    b.metric("Rows rejected", f"{rejected:,}")
    c.metric("Share rejected", f"{100 * rejected / read:.2f}%" if read else "n/a")
    st.subheader("Rows by table")
    st.dataframe(
        counts,
        hide_index=True,
        column_config={"reconciles": st.column_config.CheckboxColumn("Reconciles")},
    )


def _weighting(m: Manifest) -> None:
    """How each crime found its weight, by basis and by rule, and the codes none fitted."""
    st.subheader("How each crime was weighted")
    basis = m.weight_basis
    total = sum(basis.values()) or 1
    st.dataframe(
        _shares([(k, BASIS_WORDS.get(k, ""), v) for k, v in basis.items()], "meaning", total),
        hide_index=True,
        column_config={"meaning": st.column_config.TextColumn("Meaning", width="large")},
    )
    rules = m.weight_rules
    if rules:
        st.caption(
            "How each offence code was read: as the weight set writes it (exact), "
            "respelt (key case, class spelling), a class or a Home Office offence code in "
            "the offence-code column, a key in the class column, "
            "a retired subclass weighted as its successor, the offence group, or not at all."
        )
        st.dataframe(
            _shares([(r["basis"], r["rule"], r["crimes"]) for r in rules], "rule", total),
            hide_index=True,
        )
    unmatched = m.unmatched_codes
    if unmatched:
        st.caption("Offence codes no weight could be found for (excluded from harm):")
        st.dataframe(pl.DataFrame(unmatched), hide_index=True)
    _class_rule(m.class_rule)


def _rejects(ctx: PageContext, run: Run) -> None:
    """The rejected rows by check, then row by row (personal values masked), downloadable."""
    st.subheader("Rejected rows")
    rejects = pl.from_arrow(run.table("rejects"))
    assert isinstance(rejects, pl.DataFrame)
    if rejects.is_empty():
        st.success("No rows were rejected.")
        return
    # One line per check, not per offending value ("occurred after recorded (2022-06-22)"
    # and "(2022-06-23)" are the same check).
    summary = (
        rejects.with_columns(pl.col("reason").str.replace(r" \(.*\)$", ""))
        .group_by("table", "column", "reason")
        .len("rows")
        .sort(["rows", "table", "column", "reason"], descending=[True, False, False, False])
    )
    st.dataframe(summary, hide_index=True, width="stretch")
    tables = ["every table", *sorted(rejects["table"].unique().to_list())]
    which = st.selectbox("Show rejected rows of", tables, key="rejects_table")
    shown = rejects if which == "every table" else rejects.filter(pl.col("table") == which)
    st.caption(
        f"{shown.height:,} rows; the first 1,000 are shown. Rejected values of personal "
        f"columns ({', '.join(PERSONAL)}) are masked here; "
        "`chi validate` on the server shows them."
    )
    st.dataframe(mask_personal(shown.head(1000)), hide_index=True, width="stretch")

    st.download_button(
        "Rejected rows for the records team (CSV)",
        data=_rejects_csv(ctx, run, mask_personal(shown), which),
        file_name=f"chi-rejects-{run.run_id}.csv",
        mime="text/csv",
        on_click="ignore",
        key="rejects_download",
    )


def _shares(rows: list[tuple[str, str, int]], words: str, total: int) -> pl.DataFrame:
    """(basis, ``words``, crimes) rows, each with its share of ``total`` crimes in percent."""
    return pl.DataFrame(
        [
            {"basis": b, words: w, "crimes": n, "share %": round(100 * n / total, 2)}
            for b, w, n in rows
        ],
        schema={"basis": pl.String, words: pl.String, "crimes": pl.Int64, "share %": pl.Float64},
    )


BASIS_WORDS = {
    "exact": "the offence code is in the weight set",
    "ho_class_min": "no exact code: the lowest weight of the crime's Home Office class",
    "ho_class_typical": "no exact code: the weight of the typical offence of its Home Office class",
    "group_min": "no class match: the lowest weight of the offence group",
    "unmatched": "no weight found: left out of every harm sum (listed below)",
}


def _rejects_csv(ctx: PageContext, run: Run, rows: pl.DataFrame, which: str) -> Callable[[], bytes]:
    """The rejected rows as CSV (formulas neutralised, personal values masked, marking and
    run id in the last columns), checked against the session when it is built and audited
    with the row count."""

    gate = ctx.download_gate("quality")

    def build() -> bytes:
        gate.check(ctx.user, ctx.user.scope, "download", run_id=run.run_id)
        meta = replace(
            ExportMeta.from_manifest(
                run.manifest,
                title="Rejected rows",
                month="",
                scope=which,
                exported_by=ctx.user.username,
            ),
            marking=ctx.config.marking,
        )
        data = export(Document(whole=rows), meta, "csv")
        ctx.record("download", run_id=run.run_id, rows=rows.height, detail=f"rejects csv; {which}")
        return data

    return build


def _class_rule(section: dict[str, Any] | None) -> None:
    """How much harm and how many listed people depend on the class-level rule."""
    if not section or not section.get("months"):
        return
    rule, other = section["rule"], section["other_rule"]
    months = section["months"]
    last = months[-1]
    st.subheader("Crimes with only a Home Office class")
    st.text(
        f"This run weights them at {_RULE_WORDS.get(rule, rule)}; the alternative is "
        f"{_RULE_WORDS.get(other, other)} (class_rule = {other!r} in chi.toml, or "
        f"--class-rule {other})."
    )
    harm = Decimal(last["harm_days"])
    class_harm = Decimal(last["class_harm_days"])
    share = f"{100 * class_harm / harm:.1f}% of all harm" if harm else "no harm"
    a, b, c = st.columns(3)
    a.metric(f"Harm weighted at class level, {last['month']}", f"{class_harm:,.1f} days", share)
    b.metric(
        f"The same crimes under '{other}'", f"{Decimal(last['class_harm_other_days']):,.1f} days"
    )
    c.metric("Listed people with such a crime", f"{last['listed_with_class_crimes']:,}")
    d, e, f = st.columns(3)
    d.metric("Listed", f"{last['listed']:,}")
    e.metric(f"Listed only under '{rule}'", f"{last['listed_only_this_rule']:,}")
    f.metric(f"Would be added under '{other}'", f"{last['listed_only_other_rule']:,}")
    st.caption(
        f"Harm in the {last['month']} list window; people are listed or not by the run's "
        "thresholds. Crimes with a fine offence key do not depend on the rule."
    )
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "month": r["month"],
                    "class-level crimes": r["class_victimisations"],
                    f"harm ({rule})": float(r["class_harm_days"]),
                    f"harm ({other})": float(r["class_harm_other_days"]),
                    "listed": r["listed"],
                    f"only under {rule}": r["listed_only_this_rule"],
                    f"added under {other}": r["listed_only_other_rule"],
                }
                for r in months
            ]
        ),
        hide_index=True,
    )


MASK = "(personal: masked)"
PERSONAL = tuple(f"{table}.{c.name}" for table, c in PERSONAL_COLUMNS)
"""The contract's personal columns as ``table.column``: their rejected values are not shown
in the browser."""


def mask_personal(rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejected rows with the value of every personal column replaced by ``MASK``."""
    if rejects.is_empty() or "value" not in rejects.columns:
        return rejects
    named = pl.concat_str(pl.col("table"), pl.lit("."), pl.col("column"))
    personal = named.is_in(pl.Series(PERSONAL).implode())
    return rejects.with_columns(
        pl.when(personal & pl.col("value").is_not_null())
        .then(pl.lit(MASK))
        .otherwise(pl.col("value"))
        .alias("value")
    )
