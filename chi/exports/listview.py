"""The victim list as people see it: one definition of its columns, words and order.

The list page, every download (CSV, XLSX, PDF) and ``chi export`` build their table here, so a
file says exactly what the screen said: the same readable headers, the same words for the
reasons ("high harm, repeat"), the same numbers (harm in days with two decimals, the exact
value the run holds) and the same order (by neighbourhood, then the rank on the team's list).

Sizing: a team's list is its first ``list_size`` people (the policy; ``sql/lists/
victim_sizing.sql``); people whose listing belongs to a specialist team take no place. With
the ``flag`` rule they are shown, flagged with their team, when the user asks for everyone
listed; with ``exclude`` they are never shown on these lists (only counted). Filters narrow
the list by reason and by new or continuing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chi.exports import formats
from chi.exports.formats import Document, ExportMeta

# (column of chi.reading.lists.victim_briefing, header on the page and in every file), in order.
VICTIM_COLUMNS: list[tuple[str, str]] = [
    ("action_rank", "Rank"),
    ("name", "Name"),
    ("person_id", "Person id"),
    ("status", "New or continuing"),
    ("reasons", "Reasons"),
    ("harm_days", "Harm (days)"),
    ("specialist_team", "Specialist team"),
    ("crimes", "Crimes"),
    ("da_crimes", "DA crimes"),
    ("age", "Age"),
    ("last_recorded_date", "Latest crime"),
    ("latest_offence", "Latest offence"),
    ("neighbourhood_name", "Neighbourhood"),
    ("rank", "Force rank"),
]
REASONS = {
    "high_harm": "high harm",
    "repeat": "repeat",
    "domestic_abuse": "domestic abuse",
    "child": "child",
    "also_suspect": "also suspect",
}


@dataclass(frozen=True)
class ListView:
    """What the user asked to see."""

    everyone: bool = False
    """False: each neighbourhood's first ``list_size`` people (the list to act on)."""
    reasons: tuple[str, ...] = ()
    """Only people listed for every one of these reasons (codes of ``REASONS``)."""
    status: str | None = None
    """``new`` or ``continuing`` only; None for both."""
    specialist_rule: str = "flag"

    def describe(self) -> str:
        parts = ["everyone listed" if self.everyone else "the list to act on"]
        if self.reasons:
            parts.append("reasons: " + ", ".join(REASONS.get(r, r) for r in self.reasons))
        if self.status:
            parts.append(self.status + " only")
        return "; ".join(parts)


def select(frame: pl.DataFrame, view: ListView) -> pl.DataFrame:
    """The rows of ``frame`` (a ``victim_briefing``) the view shows, in display order."""
    out = frame
    if "specialist_team" in out.columns:
        if view.specialist_rule == "exclude":
            out = out.filter(pl.col("specialist_team").is_null())
        if not view.everyone:
            out = out.filter(pl.col("within_size"))
    out = filtered(out, view.reasons, view.status)
    order = [c for c in ("neighbourhood_name", "neighbourhood_rank", "rank") if c in out.columns]
    return out.sort(order, nulls_last=True) if order else out


def hidden_columns(one_neighbourhood: bool, rows: pl.DataFrame, view: ListView) -> tuple[str, ...]:
    """Columns the page (and so every file of it) leaves out: the neighbourhood when it shows
    one, the specialist team when no row shown has one."""
    drop = []
    if one_neighbourhood:
        drop.append("neighbourhood_name")
    if not (view.everyone and view.specialist_rule == "flag") or specialist_count(rows) == 0:
        drop.append("specialist_team")
    return tuple(drop)


OFFENDER_REASONS = {
    "high_harm": "high harm",
    "repeat": "repeat",
    "domestic_abuse": "domestic abuse",
    "serial_da": "serial DA",
    "charged": "charged",
    "child": "child victim",
    "also_victim": "also a victim",
}
DYAD_REASONS = {
    "high_harm": "high harm",
    "repeat": "repeat",
    "serial_da": "serial DA",
    "high_risk": "high DASH risk",
}


def filtered(frame: pl.DataFrame, reasons: tuple[str, ...], status: str | None) -> pl.DataFrame:
    """Rows listed for every one of ``reasons`` and, when given, of ``status``."""
    out = frame
    for reason in reasons:
        out = out.filter(pl.col("reasons").list.contains(reason))
    if status:
        out = out.filter(pl.col("status") == status)
    return out


def specialist_count(frame: pl.DataFrame) -> int:
    if "specialist_team" not in frame.columns:
        return 0
    return frame.filter(pl.col("specialist_team").is_not_null()).height


def table(frame: pl.DataFrame, drop: tuple[str, ...] = ()) -> pl.DataFrame:
    """The display table: readable headers in order, reasons in words; values unchanged
    (harm stays an exact decimal, dates stay dates) so each format writes them natively."""
    present = [(c, h) for c, h in VICTIM_COLUMNS if c in frame.columns and c not in drop]
    if not present:
        return pl.DataFrame()
    out = frame.select([c for c, _ in present])
    if "reasons" in out.columns:
        out = out.with_columns(
            pl.col("reasons").list.eval(pl.element().replace(REASONS)).list.join(", ")
        )
    return out.rename(dict(present))


# The printable briefing's columns, then a blank column for the team to write its actions in.
PDF_HEADERS = [
    "Rank",
    "Name",
    "Person id",
    "New or continuing",
    "Reasons",
    "Harm (days)",
    "Specialist team",
    "Crimes",
    "DA crimes",
    "Age",
    "Latest crime",
    "Latest offence",
    "Neighbourhood",
]
ACTIONS = "Actions"


NOBODY = "Nobody is listed for this month and scope."
"""What the printable briefing of an empty list says."""


def export(rows: pl.DataFrame, meta: ExportMeta, fmt: str, drop: tuple[str, ...] = ()) -> bytes:
    """The file of the rows a page shows (``select``'s result), in ``fmt``: the same table as
    the page (``table``); XLSX with a sheet of everyone and one per neighbourhood; the PDF a
    section per neighbourhood with the person id and an empty Actions column."""
    out = table(rows, drop)
    if fmt == "pdf":
        out = out.select([c for c in PDF_HEADERS if c in out.columns])
        out = out.with_columns(pl.lit("").alias(ACTIONS))
    doc = Document(whole=out, split_by="Neighbourhood", empty_text=NOBODY)
    return formats.export(doc, meta, fmt)
