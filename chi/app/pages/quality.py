"""The data quality page (analyst): the current run's validation summary and rejected rows.

Counts come from the run's manifest (rows read, accepted and rejected per table always
reconcile), rejects from its ``rejects.parquet``: every row that broke the contract, with the
reason, never dropped silently.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.ui import current_run, guarded, require, run_caption


def render(ctx: PageContext) -> None:
    require(ctx, "quality")
    with guarded(ctx):
        run = current_run(ctx)
        m = run.manifest
        st.title("Data quality")
        run_caption(run)
        ctx.record_once("data_quality_view", run_id=run.run_id)

        counts = pl.DataFrame(
            [
                {
                    "table": t,
                    "read": c["read"],
                    "accepted": c["accepted"],
                    "rejected": c["rejected"],
                    "reconciles": c["read"] == c["accepted"] + c["rejected"],
                }
                for t, c in m["counts"].items()
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

        st.subheader("How each crime was weighted")
        basis = m.get("weight_basis", {})
        total = sum(basis.values()) or 1
        st.dataframe(
            pl.DataFrame(
                [
                    {"basis": k, "crimes": v, "share %": round(100 * v / total, 2)}
                    for k, v in basis.items()
                ],
                schema={"basis": pl.String, "crimes": pl.Int64, "share %": pl.Float64},
            ),
            hide_index=True,
        )
        unmatched = m.get("unmatched_codes", [])
        if unmatched:
            st.caption("Offence codes no weight could be found for (excluded from harm):")
            st.dataframe(pl.DataFrame(unmatched), hide_index=True)

        st.subheader("Rejected rows")
        rejects = pl.from_arrow(run.table("rejects"))
        assert isinstance(rejects, pl.DataFrame)
        if rejects.is_empty():
            st.success("No rows were rejected.")
            return
        summary = (
            rejects.group_by("table", "column", "reason")
            .len("rows")
            .sort(["rows", "table", "column", "reason"], descending=[True, False, False, False])
        )
        st.dataframe(summary, hide_index=True, width="stretch")
        tables = ["every table", *sorted(rejects["table"].unique().to_list())]
        which = st.selectbox("Show rejected rows of", tables, key="rejects_table")
        shown = rejects if which == "every table" else rejects.filter(pl.col("table") == which)
        st.caption(
            f"{shown.height:,} rows; the first 1,000 are shown. Rejected values of personal "
            f"columns ({', '.join(sorted(PERSONAL_COLUMNS))}) are masked here; "
            "`chi validate` on the server shows them."
        )
        st.dataframe(mask_personal(shown.head(1000)), hide_index=True, width="stretch")


# Columns of the extract whose values say something about a person (the data contract's
# persons table): their rejected values are not shown in the browser.
PERSONAL_COLUMNS = frozenset(
    {"name", "birth_date", "sex", "ethnicity", "deceased_date", "home_lsoa_code"}
)
MASK = "(personal: masked)"


def mask_personal(rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejected rows with the value of every personal column replaced by ``MASK``."""
    if rejects.is_empty() or "value" not in rejects.columns:
        return rejects
    personal = pl.col("column").is_in(pl.Series(sorted(PERSONAL_COLUMNS)).implode())
    return rejects.with_columns(
        pl.when(personal & pl.col("value").is_not_null())
        .then(pl.lit(MASK))
        .otherwise(pl.col("value"))
        .alias("value")
    )
