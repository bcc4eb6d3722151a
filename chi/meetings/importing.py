"""Import a force's existing area-meeting records (CSV or Parquet, one row per decision) into
the decision record: ``chi decisions import FILE``.

Every row is parsed by the same rules as a decision recorded in the app
(:func:`chi.meetings.decisions.parse_decision`); a row that fails is kept out with its row
number and reason, a row identical to the person's current decision is counted as unchanged,
and read = imported + unchanged + rejected always.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from chi.meetings.decisions import (
    Decision,
    DecisionError,
    append_version,
    fingerprint,
    latest_version_in,
    parse_decision,
    recorded_fingerprints,
)
from chi.state.audit import append_audit
from chi.state.db import timestamp, utc_now
from chi.state.store import Store

REQUIRED_COLUMNS = ("person_id", "area", "meeting_date", "decision")


@dataclass(frozen=True)
class ImportReport:
    read: int
    imported: int
    unchanged: int
    rejected: list[tuple[int, str]]
    """(1-based data row, reason) for every row not imported."""

    @property
    def reconciles(self) -> bool:
        return self.read == self.imported + self.unchanged + len(self.rejected)


def _utf8_text(path: Path) -> bytes:
    """The CSV's bytes as UTF-8 (a byte-order mark dropped); a file in another encoding is
    refused by line rather than stored with replacement characters."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: line {line} is not UTF-8 text; save the file as 'CSV UTF-8' and "
            "import it again"
        ) from None
    return text.encode("utf-8")


def _read_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(_utf8_text(path), infer_schema=False)
        elif suffix == ".parquet":
            frame = pl.read_parquet(path)
        else:
            raise ValueError(f"{path}: decisions import reads .csv or .parquet files")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValueError(f"{path}: cannot be read as {suffix[1:]} ({type(exc).__name__})") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if "list_month" not in frame.columns and "index_month" not in frame.columns:
        missing.insert(1, "list_month")
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame.to_dicts()


def import_decisions(
    store: Store,
    path: Path,
    recorded_by: str,
    now: datetime | None = None,
) -> ImportReport:
    """Import decisions from a CSV or Parquet file; see the module docstring.

    Valid rows are appended in one transaction in meeting order per person (file order
    within a meeting, so a later row for the same meeting is a later version), each with its
    audit entry, and one ``decisions_import`` entry records the counts. A row identical to a
    version already recorded for that person and meeting is unchanged, so importing the same
    file twice adds nothing.
    """
    rows = _read_rows(Path(path))
    rejected: list[tuple[int, str]] = []
    good: list[tuple[int, Decision]] = []
    for n, raw in enumerate(rows, start=1):
        try:
            good.append((n, parse_decision(raw)))
        except DecisionError as exc:
            rejected.append((n, str(exc)))
    good.sort(key=lambda x: (x[1].subject_type, x[1].person_id, x[1].meeting_date, x[0]))
    at = timestamp(utc_now(now))
    imported = unchanged = 0
    with store.transaction() as con:
        # Read what is recorded inside the write transaction (``begin immediate`` holds the
        # write lock), so two imports of one file at once cannot both see it as new.
        recorded = recorded_fingerprints(con)
        for _, d in good:
            if fingerprint(d) in recorded:
                unchanged += 1
                continue
            version = latest_version_in(con, d.subject_type, d.person_id) + 1
            append_version(con, d, version, recorded_by, at, "import", "decision_imported")
            recorded.add(fingerprint(d))
            imported += 1
        append_audit(
            con,
            at=at,
            username=recorded_by,
            action="decisions_import",
            rows=imported,
            detail=f"read {len(rows)}; imported {imported}; unchanged {unchanged}; "
            f"rejected {len(rejected)}",
        )
    return ImportReport(len(rows), imported, unchanged, rejected)
