"""Prepare an extract for scoring: read, validate, stage and weight it in one DuckDB database.

``prepare`` is the one way into the scoring model, used by ``chi validate``, ``chi score``,
``chi calibrate``, the analyses and the tests. It opens one in-memory DuckDB connection,
registers the extract (``chi.extract.read``), loads the reference data, validates
(``chi.extract.validate``) and builds the staging stage of ``sql/``:

- ``crimes``, ``persons``, ``victims``, ``suspects``: accepted rows, cleaned; ``crimes`` has
  ``month``, ``weight`` (exact ``DECIMAL(18,2)``, null when unmatched) and ``basis``;
- ``victimisations``: one row per (recorded crime, victim) with the crime's weight;
- ``ref_lsoa`` and ``ref_weights``: the geography and the chosen weight set;
  ``ref_retired`` and ``ref_class_typical``: the offence-code rule tables of ``data/offences``;
- ``rejects``: every failed check, with table, key, column, reason, value, file and row.

Queries go through ``p.con.cursor()``: one connection, a cursor per query.

Memory: DuckDB may use up to half the machine's memory (:func:`default_memory_limit`);
``CHI_MEMORY_LIMIT`` (``12GB``, ``800MiB``) sets another cap. Over the cap, the large joins,
aggregations and sorts spill to a private temporary folder (removed when the connection
closes) instead of failing, so a national extract can be scored on a smaller machine, more
slowly (``bench/README.md``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from chi import sql
from chi.errors import MEMORY_ENV as MEMORY_ENV  # the cap's variable, for callers
from chi.extract.read import Extract, locate, refuse_damaged, register
from chi.extract.validate import TableCounts, validate
from chi.progress import Progress, silent
from chi.reference import GeographyError, WeightSet, geography, load_weight_set, offence_rules_path
from chi.scoring.policy import Policy

_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


_UNIT_BYTES = {
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip

NOT_THE_FILES = (duckdb.OutOfMemoryException, duckdb.InterruptException)
"""DuckDB errors that say nothing about the files read (the memory cap was reached, Ctrl-C):
passed on as they are, never blamed on a file nor answered by reading every file again."""


class SettingError(Exception):
    """A setting (environment variable) chi cannot use."""


def memory_limit() -> str | None:
    """The DuckDB memory cap: what ``CHI_MEMORY_LIMIT`` asks for, else half the machine's
    memory (:func:`default_memory_limit`)."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if not value:
        return default_memory_limit()
    if not _MEMORY.fullmatch(value):
        raise SettingError(
            f"{MEMORY_ENV}={value!r} is not an amount of memory; write it like 12GB or 800MiB"
        )
    return value


def memory_bytes(value: str | None) -> int | None:
    """The bytes of a cap written as :func:`memory_limit` takes it (``12GB``, ``800MiB``: KB,
    MB, GB, TB in powers of 1000 and KiB, MiB, GiB, TiB of 1024, as DuckDB reads them), or
    None for none."""
    found = _MEMORY.fullmatch(value.strip()) if value is not None else None
    if value is None or found is None:
        return None
    number = float(value.strip()[: found.start(2)])
    return int(number * _UNIT_BYTES[found.group(2).lower()])


def default_memory_limit() -> str | None:
    """Half the machine's physical memory, or None (DuckDB's own default, 80%) where it
    cannot be read. DuckDB's default leaves too little for the rest of the process on a
    national extract: besides DuckDB's buffers a run holds the libraries, the Arrow row groups
    being written and the memory allocator's slack (about 1.5 GB at scale 80; bench/README.md),
    and the machine usually runs the app too."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return f"{total // 2 // 2**20}MiB" if total > 0 else None


def connect(spill: Path) -> duckdb.DuckDBPyConnection:
    """The scoring connection: in memory, insertion order kept, spilling to ``spill``."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "preserve_insertion_order": True,
        "temp_directory": spill.as_posix(),
    }
    limit = memory_limit()
    if limit is not None:
        config["memory_limit"] = limit
    return duckdb.connect(config=config)


@dataclass
class Prepared:
    con: duckdb.DuckDBPyConnection
    extract: Extract
    as_of: date
    policy: Policy
    weight_set: WeightSet
    counts: dict[str, TableCounts]
    as_of_source: str = "extract.json"
    """Where ``as_of`` came from: ``extract.json``, ``latest recorded_date``, ``given`` (a
    rerun's manifest) or ``today``."""
    memory_cap: int | None = None
    """The bytes DuckDB may use (:func:`memory_limit`), None where it is DuckDB's default."""

    def basis_counts(self) -> dict[str, int]:
        rows = sql.run(self.con, "quality/basis_counts").fetchall()
        return {str(b): int(n) for b, n in rows}

    def rule_counts(self) -> list[tuple[str, str, int]]:
        """(basis, weight rule, crimes): how many crimes each offence-code rule resolved."""
        rows = sql.run(self.con, "quality/rule_counts").fetchall()
        return [(str(b), str(r), int(n)) for b, r, n in rows]

    def unmatched_codes(self) -> list[tuple[str, str, int]]:
        """(offence_code, ho_class, crimes) of crimes no weight could be found for."""
        rows = sql.run(self.con, "quality/unmatched_codes").fetchall()
        return [(str(a), str(b), int(n)) for a, b, n in rows]

    def reject_summary(self) -> list[tuple[str, str, str, int]]:
        """(table, column, reason, rows) over every failed check, largest first."""
        rows = sql.run(self.con, "quality/reject_summary").fetchall()
        return [(str(t), str(c), str(r), int(n)) for t, c, r, n in rows]


def _latest_recorded(con: duckdb.DuckDBPyConnection, today: date) -> date | None:
    """The latest recorded_date that is not in the future: without extract.json the as-of
    date is the latest recorded date (contract §1), but one mistyped date (2099) must not
    become the as-of date and stretch the run over decades; it is rejected instead as
    after the as-of date."""
    [(latest,)] = sql.run(con, "staging/latest_recorded", {"today": today}).fetchall()
    return latest if isinstance(latest, date) else None


# The macros the list files share: the reasons block, and the rank, neighbourhood rank and
# status of the listed segments in every list month (each one statement, no parameters).
LIST_MACROS = ("reasons_macro", "rank_macro")


def _load_reference(con: duckdb.DuckDBPyConnection, ws: WeightSet) -> None:
    # The force's geography, checked first (one line naming the file, column and row).
    geo = geography()
    try:
        sql.create_table(con, "ref_lsoa", "reference/lsoa", {"path": geo.path.as_posix()})
    except NOT_THE_FILES:
        raise
    except duckdb.Error:
        # Python's csv reader accepted it but DuckDB's did not (stray carriage returns, say):
        # the fault is the geography file's, not the extract's.
        raise GeographyError(
            f"{geo.path}: the geography file is not well-formed CSV (each row one line, with "
            "the header's fields)"
        ) from None
    sql.create_macros(con)
    for macro in LIST_MACROS:
        sql.run(con, f"lists/{macro}")
    sql.create_table(con, "ref_weights", "reference/weights", {"path": ws.path.as_posix()})
    rules = {"ref_retired": "retired_subclasses", "ref_class_typical": "class_typical"}
    for table, name in rules.items():
        path = offence_rules_path(name).as_posix()
        sql.create_table(con, table, f"reference/{name}", {"path": path})


def _stage(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    policy: Policy,
    ws: WeightSet,
    as_of: date | None,
    progress: Progress,
) -> tuple[date, str, dict[str, TableCounts]]:
    """Register, validate and stage ``extract`` on ``con``: (as-of date, where it came from,
    counts per table)."""
    register(con, extract, timezone=policy.timezone)
    _load_reference(con, ws)
    source = "given"
    if as_of is None:
        source = "extract.json"
        as_of = extract.meta.as_of
    if as_of is None:
        source = "latest recorded_date"
        as_of = _latest_recorded(con, date.today())
    if as_of is None:
        source, as_of = "today", date.today()
    progress("validating", 0.1)
    counts = validate(con, as_of)
    progress("staging", 0.5)
    sql.create_table(
        con,
        "crimes",
        "staging/crimes",
        {
            "historic_months": policy.historic_months,
            "historic_counted": policy.historic_counted,
            "class_rule": policy.class_rule,
        },
    )
    for view in ("persons", "victims", "suspects"):
        sql.create_view(con, view, f"staging/{view}")
    sql.create_table(con, "victimisations", "staging/victimisations")
    return as_of, source, counts


@contextmanager
def prepare(
    extract_path: Path,
    weights: str | None = None,
    policy: Policy | None = None,
    progress: Progress = silent,
    as_of: date | None = None,
) -> Iterator[Prepared]:
    """Open, validate and stage an extract; the connection closes on exit. ``as_of``
    overrides the extract's (a rerun uses its manifest's)."""
    policy = policy or Policy()
    ws = load_weight_set(weights or policy.weights)
    progress("reading extract", 0.0)
    extract = locate(Path(extract_path))
    spill = Path(tempfile.mkdtemp(prefix="chi-spill-"))
    try:
        con = connect(spill)
    except BaseException:
        shutil.rmtree(spill, ignore_errors=True)
        raise
    try:
        try:
            as_of, source, counts = _stage(con, extract, policy, ws, as_of, progress)
        except NOT_THE_FILES:
            raise
        except duckdb.Error:
            # A file that DuckDB cannot read (a damaged page of a file without checksums) is
            # refused by name; any other error is DuckDB's own.
            refuse_damaged(extract)
            raise
        progress("prepared", 0.6)
        cap = memory_bytes(memory_limit())
        yield Prepared(con, extract, as_of, policy, ws, counts, source, cap)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
