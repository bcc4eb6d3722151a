"""A known engagement effect in a synthetic extract, so the impact review can be tested.

An impact review is only trustworthy if it recovers an effect we put there. After the
extract is written, ``apply_engagement`` scores it with chi's own pipeline, and for every
list month engages a fixed share of the month's **new** victim-list entries (people with a
known area who were never engaged before). The meeting for list month M
is held on the first day of M+1 and engagement starts then, for six months. Each engaged
person's later victimisations (crimes recorded on or after the engagement start) are then
removed independently with probability ``effect``, so engagement takes a known fraction E
off their subsequent harm, in expectation, and nothing else changes.

Who is engaged (``selection``):

- ``random``: the share of the month's pool, drawn at random (the design-free case).
- ``top_harm``, ``top_crimes``, ``escalating``: what a real meeting does. Within each area
  and month the pool is ranked by what the meeting sees: harm in the window, crimes in the
  window, or the rise in harm (the last three months' harm minus the three months' before).
  The meeting engages ``round(share × pool)`` of its area's pool, picking by that rank with
  judgement on top: person i's key is ``SELECTION_STRENGTH × logit(u_i)`` plus a Gumbel
  draw, where ``u_i`` is their rank over (pool + 1), and the highest keys are engaged. With
  strength 2 and a share of 30%, a person's chance of being engaged by tenth of their area's
  pool (measured on a pool of 100, bottom to top) is 0.1%, 0.3%, 0.9%, 2.5%, 6%, 13%, 28%,
  58%, 92% and 100%: the meeting takes its top fifth almost always, as meetings do (which
  is what makes a naive or an unmatched review wrong, since that harm regresses to the
  mean), and below that judgement decides, so comparable people who were passed over exist
  for most of those engaged, though not for the very top.

What is decided here:

- Randomness comes from its own stream (seeded by the generator seed), so the rest of the
  extract is exactly what the generator writes without engagement, and the same people are
  engaged and the same draws made whatever E is (E = 0 engages and removes nothing).
- A victim row is removed, never changed; a crime left with no victim is removed with its
  suspects. Rows named in ``truth/defects.parquet`` or ``truth/duplicates.parquet`` are
  never touched, so the defect truth stays exact. Files keep their order and physical
  schema and are rewritten only when a row leaves them, so output stays byte-identical for
  the same options.
- ``truth/engagements.parquet`` records each engagement (person, index month, area, meeting
  date, engagement start and end, the effect) in a form ``chi decisions import`` reads;
  ``truth/engagement_removals.parquet`` lists every victim row removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chi import sql
from chi.generate.write import write_parquet
from chi.months import add_months, month_label, parse_month
from chi.progress import Progress, silent
from chi.reading.lists import neighbourhoods
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.score import complete_months, score

ENGAGEMENT_MONTHS = 6
SELECTIONS = ("random", "top_harm", "top_crimes", "escalating")
SELECTION_STRENGTH = 2.0
STREAM = 0x656E6761  # a fixed second seed word: the engagement draws' own stream
OWNER = "synthetic engagement"

ENGAGEMENTS_SCHEMA = pa.schema(
    [
        pa.field("subject_type", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("index_month", pa.string(), nullable=False),
        pa.field("area", pa.string(), nullable=False),
        pa.field("meeting_date", pa.date32(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("engagement_start", pa.date32(), nullable=False),
        pa.field("engagement_end", pa.date32(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("effect", pa.float64(), nullable=False),
        pa.field("selection", pa.string(), nullable=False),
    ]
)
REMOVALS_SCHEMA = pa.schema(
    [
        pa.field("crime_id", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("crime_removed", pa.bool_(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Scored:
    """An extract as chi scores it: what the meeting sees (the victim list) and the
    victimisations (crime_id, person_id, recorded_date, month, weight, counted)."""

    victim_list: pl.DataFrame
    victimisations: pl.DataFrame
    as_of: date
    months: list[str]
    """The complete months scored (the last one is an impact review's last month)."""


def scored_extract(out: Path) -> Scored:
    """``out`` scored with chi's own pipeline and the default policy (no run published)."""
    with prepare(out, policy=Policy()) as p:
        months = complete_months(p)
        lists = score(p, months)
        victimisations = sql.run(p.con, "generate/scored_victimisations").pl()
        as_of = p.as_of
    frame = pl.from_arrow(lists.victim_list)
    assert isinstance(frame, pl.DataFrame)
    return Scored(frame, victimisations, as_of, months)


def _month_index(expr: pl.Expr) -> pl.Expr:
    return expr.str.slice(0, 4).cast(pl.Int32) * 12 + expr.str.slice(5, 2).cast(pl.Int32) - 1


def selection_scores(pool: pl.DataFrame, victimisations: pl.DataFrame, selection: str) -> pl.Series:
    """What the meeting ranks ``pool`` (month, person_id, harm_days, crimes) by, per row:
    harm in the window, crimes in the window, or the last three months' harm minus the
    three months' before (from the counted victimisations: person_id, month, weight)."""
    if selection == "top_harm":
        return pool["harm_days"].cast(pl.Float64)
    if selection == "top_crimes":
        return pool["crimes"].cast(pl.Float64)
    if selection != "escalating":
        raise ValueError(f"unknown engagement selection {selection!r}")
    per_month = (
        victimisations.filter(pl.col("counted"))
        .group_by("person_id", _month_index(pl.col("month")).alias("at"))
        .agg(pl.col("weight").cast(pl.Float64).fill_null(0).sum().alias("harm"))
    )
    rows = pool.select("month", "person_id").with_row_index("row")
    offsets = pl.DataFrame({"offset": list(range(6))})
    grid = rows.join(offsets, how="cross").with_columns(
        (_month_index(pl.col("month")) - pl.col("offset")).alias("at")
    )
    rise = (
        grid.join(per_month, on=["person_id", "at"], how="left")
        .with_columns(pl.col("harm").fill_null(0))
        .group_by("row")
        .agg(
            (
                pl.col("harm").filter(pl.col("offset") < 3).sum()
                - pl.col("harm").filter(pl.col("offset") >= 3).sum()
            ).alias("rise")
        )
        .sort("row")
    )
    return rise["rise"]


def _pick(part: pl.DataFrame, rng: np.random.Generator, share: float, selection: str) -> list[int]:
    """Row positions of ``part`` (one month's pool, or one area's) that the meeting engages."""
    k = round(share * part.height)
    if selection == "random":
        return sorted(rng.choice(part.height, size=k, replace=False).tolist())
    # Rank by the score, ties by person id (part is sorted by person id): u in (0, 1).
    order = np.lexsort((np.arange(part.height), part["score"].to_numpy()))
    u = np.empty(part.height)
    u[order] = (np.arange(part.height) + 1) / (part.height + 1)
    keys = SELECTION_STRENGTH * np.log(u / (1 - u)) + rng.gumbel(size=part.height)
    return sorted(np.argsort(-keys, kind="stable")[:k].tolist())


def choose_engagements(
    victim_list: pl.DataFrame,
    rng: np.random.Generator,
    share: float,
    as_of: date,
    selection: str = "random",
    victimisations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """person_id, index_month, area, engagement_start, engagement_end: ``share`` of each
    month's new entries with a known area, never engaged before, month by month, chosen as
    ``selection`` says (the module docstring); ``victimisations`` (person_id, month, weight,
    counted) is needed for ``escalating`` only."""
    if selection not in SELECTIONS:
        raise ValueError(f"unknown engagement selection {selection!r}")
    areas = neighbourhoods().select("neighbourhood_code", "area")
    new = (
        victim_list.filter(pl.col("status") == "new")
        .join(areas, on="neighbourhood_code", how="inner")
        .select("month", "person_id", "area", "harm_days", "crimes")
        .sort("month", "person_id")
    )
    if selection == "escalating" and victimisations is None:
        raise ValueError("escalating selection needs the victimisations")
    if victimisations is None:
        victimisations = pl.DataFrame(
            schema={
                "person_id": pl.String,
                "month": pl.String,
                "weight": pl.Float64,
                "counted": pl.Boolean,
            }
        )
    engaged: set[str] = set()
    rows: list[dict[str, object]] = []
    for month, part in new.group_by("month", maintain_order=True):
        start = add_months(parse_month(str(month[0])), 1)
        if start > as_of:
            continue
        pool = part.filter(~pl.col("person_id").is_in(list(engaged)))
        if selection == "random":
            picked = pool[_pick(pool, rng, share, selection)]
        elif pool.is_empty():
            continue
        else:
            scored = pool.with_columns(
                selection_scores(pool, victimisations, selection).alias("score")
            ).sort("area", "person_id")
            cells = scored.group_by("area", maintain_order=True)
            picked = pl.concat(
                [cell[_pick(cell, rng, share, selection)] for _, cell in cells]
            ).sort("person_id")
        end = add_months(start, ENGAGEMENT_MONTHS) - timedelta(days=1)
        for r in picked.iter_rows(named=True):
            engaged.add(r["person_id"])
            rows.append(
                {
                    "person_id": r["person_id"],
                    "index_month": month_label(parse_month(str(month[0]))),
                    "area": r["area"],
                    "engagement_start": start,
                    "engagement_end": end,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "person_id": pl.String,
            "index_month": pl.String,
            "area": pl.String,
            "engagement_start": pl.Date,
            "engagement_end": pl.Date,
        },
    )


def _protected(out: Path) -> tuple[set[str], set[str]]:
    """(crime ids, victim keys ``crime|person``) named in the truth files."""
    crimes: set[str] = set()
    victims: set[str] = set()
    defects = pl.read_parquet(out / "truth" / "defects.parquet")
    for table, key in defects.select("table", "key").iter_rows():
        if table == "crimes":
            crimes.add(key)
        elif table == "victims":
            victims.add(key)
    dups = pl.read_parquet(out / "truth" / "duplicates.parquet")
    crimes |= set(dups["duplicate_crime_id"].to_list()) | set(dups["original_crime_id"].to_list())
    return crimes, victims


def _files(out: Path, name: str) -> list[Path]:
    single = out / f"{name}.parquet"
    return [single] if single.is_file() else sorted((out / name).rglob("*.parquet"))


def _drop(path: Path, keep: pa.ChunkedArray | pa.Array, table: pa.Table) -> int:
    """Rewrite ``path`` without the rows not in ``keep``; rows removed."""
    removed = table.num_rows - int(pc.sum(pc.cast(keep, pa.int64())).as_py() or 0)
    if removed:
        write_parquet(table.filter(keep), path)
    return int(removed)


def apply_engagement(
    out: Path,
    seed: int,
    effect: float,
    share: float,
    progress: Progress = silent,
    selection: str = "random",
    scored: Scored | None = None,
) -> dict[str, int]:
    """Engage, thin and record, as the module docstring says; rows removed per table.
    ``scored``: ``out`` already scored (``scored_extract``), so that several scenarios of
    one extract score it once."""
    progress("engagement", 0.9)
    rng = np.random.Generator(np.random.PCG64([seed, STREAM]))
    s = scored if scored is not None else scored_extract(out)
    victimisations = s.victimisations
    engaged = choose_engagements(s.victim_list, rng, share, s.as_of, selection, victimisations)

    protected_crimes, protected_victims = _protected(out)
    later = (
        victimisations.join(engaged.select("person_id", "engagement_start"), on="person_id")
        .filter(pl.col("recorded_date") >= pl.col("engagement_start"))
        .filter(
            ~pl.col("crime_id").is_in(list(protected_crimes))
            & ~(pl.col("crime_id") + "|" + pl.col("person_id")).is_in(list(protected_victims))
        )
        .select("crime_id", "person_id")
        .unique()
        .sort("crime_id", "person_id")
    )
    draws = rng.random(later.height)
    removed = later.filter(pl.Series(draws < effect))
    gone = set(zip(removed["crime_id"].to_list(), removed["person_id"].to_list(), strict=True))

    counts = {"victims": 0, "crimes": 0, "suspects": 0}
    remaining: set[str] = set()
    touched = set(removed["crime_id"].to_list())
    for path in _files(out, "victims"):
        table = pq.ParquetFile(path).read()
        ids = table["crime_id"].to_pylist()
        keep = [
            (c, p) not in gone for c, p in zip(ids, table["person_id"].to_pylist(), strict=True)
        ]
        remaining |= {c for c, k in zip(ids, keep, strict=True) if k and c in touched}
        counts["victims"] += _drop(path, pa.array(keep), table)
    emptied = pa.array(sorted(touched - remaining), type=pa.string())
    for name in ("crimes", "suspects"):
        for path in _files(out, name):
            table = pq.ParquetFile(path).read()
            keep = pc.invert(pc.is_in(table["crime_id"], value_set=emptied))
            counts[name] += _drop(path, keep, table)

    emptied_set = set(emptied.to_pylist())
    removals = pa.Table.from_pylist(
        [
            {"crime_id": c, "person_id": p, "crime_removed": c in emptied_set}
            for c, p in removed.iter_rows()
        ],
        schema=REMOVALS_SCHEMA,
    )
    write_parquet(removals, out / "truth" / "engagement_removals.parquet")
    truth = engaged.sort("index_month", "person_id").select(
        pl.lit("victim").alias("subject_type"),
        "person_id",
        "index_month",
        "area",
        pl.col("engagement_start").alias("meeting_date"),
        pl.lit("engagement").alias("decision"),
        "engagement_start",
        "engagement_end",
        pl.lit(OWNER).alias("owner"),
        pl.lit(float(effect)).alias("effect"),
        pl.lit(selection).alias("selection"),
    )
    write_parquet(truth.to_arrow().cast(ENGAGEMENTS_SCHEMA), out / "truth" / "engagements.parquet")
    return counts
