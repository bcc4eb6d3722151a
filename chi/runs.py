"""Runs: publish a scoring run atomically, find runs, and reproduce one from its manifest.

A run is a folder ``RUNS/<run_id>/`` (contract §4). It is written in full under a hidden
``RUNS/.incoming-<run_id>/`` and renamed into place in one step, so a reader (the app, an
export) sees a whole run or none; ``RUNS/latest`` is then switched to it, also atomically.
The manifest records everything needed to reproduce the lists: extract files with checksums,
policy, weight set with checksum, months and chi's version. List files are written from
deterministically ordered tables, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chi import __version__
from chi.contract import CONTRACT_VERSION
from chi.pipeline import Prepared, prepare
from chi.policy import Policy
from chi.progress import Progress, silent
from chi.score import Lists, complete_months, first_month, parse_months, partial_months, score

LIST_FILES = ("victim_list", "victim_exits", "offender_list", "dyads", "victim_sizing")


class RunError(Exception):
    """A run folder that is missing, incomplete or not a chi run."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write(table: pa.Table, path: Path) -> dict[str, Any]:
    pq.write_table(table, path, compression="zstd")
    return {"rows": table.num_rows, "sha256": _sha256(path)}


def _people(p: Prepared) -> pa.Table:
    """Display details of everyone on a list (the only personal details a run keeps)."""
    return (
        p.con.cursor()
        .sql(
            """
            with listed as (
                select person_id from victim_list_all
                union select person_id from offender_list_all
                union select offender_id from dyads_all
                union select victim_id from dyads_all
            )
            select p.person_id, p.person_type, p.name, p.sex, p.birth_date, p.ethnicity,
                   l.neighbourhood_code as home_neighbourhood_code, p.deceased_date
            from persons as p
            inner join listed using (person_id)
            left join ref_lsoa as l on p.home_lsoa_code = l.lsoa_code
            order by p.person_id
            """
        )
        .to_arrow_table()
    )


def _victimisations(p: Prepared) -> pa.Table:
    return (
        p.con.cursor()
        .sql(
            """
            select v.crime_id, v.person_id, v.recorded_date, v.occurred_date, v.month,
                   v.offence_code, v.ho_class, w.title as offence_title, v.weight, v.basis,
                   v.domestic_abuse, v.da_relationship, v.dash_risk,
                   v.crime_neighbourhood_code, v.historic, v.counted,
                   exists (select 1 from suspects as s where s.crime_id = v.crime_id)
                       as has_suspect
            from victimisations as v
            left join ref_weights as w on v.offence_code = w.offence_key
            order by v.recorded_date, v.crime_id, v.person_id
            """
        )
        .to_arrow_table()
    )


def _rejects(p: Prepared) -> pa.Table:
    return (
        p.con.cursor()
        .sql(
            """
            select table_name as "table", key, column_name as "column", reason, value,
                   file, row
            from rejects order by table_name, file, row, column_name, reason
            """
        )
        .to_arrow_table()
    )


def run_digest(p: Prepared, months: list[str]) -> str:
    """A fingerprint of everything that determines the lists."""
    body = {
        "files": [(f["table"], f["file"], f["sha256"]) for f in p.extract.files_manifest()],
        "policy": p.policy.as_manifest(),
        "weights": p.weight_set.sha256,
        "months": months,
        "as_of": p.as_of.isoformat(),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def publish(p: Prepared, lists: Lists, runs_dir: Path, now: datetime | None = None) -> Path:
    """Write the run under a temporary name, rename it into place, point ``latest`` at it."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    digest = run_digest(p, lists.months)
    run_id = f"{created:%Y%m%dT%H%M%SZ}-{digest[:8]}"
    n = 1
    while (runs_dir / run_id).exists():  # the same inputs again within one second
        n += 1
        run_id = f"{created:%Y%m%dT%H%M%SZ}-{digest[:8]}-{n}"
    final = runs_dir / run_id
    tmp = runs_dir / f".incoming-{run_id}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        outputs: dict[str, Any] = {}
        for name in LIST_FILES:
            outputs[name] = _write(getattr(lists, name), tmp / f"{name}.parquet")
        outputs["rejects"] = _write(_rejects(p), tmp / "rejects.parquet")
        outputs["people"] = _write(_people(p), tmp / "people.parquet")
        outputs["victimisations"] = _write(_victimisations(p), tmp / "victimisations.parquet")
        manifest = {
            "run_id": run_id,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "chi_version": __version__,
            "contract_version": CONTRACT_VERSION,
            "digest": digest,
            "extract": {
                "path": str(p.extract.folder.resolve()),
                "force": p.extract.meta.force,
                "as_of": p.as_of.isoformat(),
                "files": p.extract.files_manifest(),
            },
            "policy": p.policy.as_manifest(),
            "weights": p.weight_set.as_manifest(),
            "months": lists.months,
            "first_month": first_month(p),
            "partial_months": partial_months(p, lists.months),
            "counts": {
                name: {"read": c.read, "accepted": c.accepted, "rejected": c.rejected}
                for name, c in p.counts.items()
            },
            "weight_basis": p.basis_counts(),
            "unmatched_codes": [
                {"offence_code": a, "ho_class": b, "crimes": n} for a, b, n in p.unmatched_codes()
            ],
            "outputs": outputs,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _adopt_current(runs_dir, run_id)
    _point_latest(runs_dir, run_id)
    return final


def _point_latest(runs_dir: Path, run_id: str) -> None:
    link = runs_dir / "latest"
    tmp = runs_dir / f".latest-{run_id}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    try:
        tmp.symlink_to(run_id, target_is_directory=True)
    except OSError:  # no symlinks (some Windows set-ups): a one-line file instead
        tmp.write_text(run_id + "\n")
    tmp.replace(link)


@dataclass(frozen=True)
class Run:
    path: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    def table(self, name: str) -> pa.Table:
        return pq.read_table(self.path / f"{name}.parquet")

    def file(self, name: str) -> Path:
        return self.path / f"{name}.parquet"


def open_run(path: Path) -> Run:
    """A run folder, or ``RUNS/current`` or ``RUNS/latest``, or a runs folder (meaning its
    current run: the one every user reads; its latest for a folder from before drafts)."""
    path = Path(path)
    if not (path / "manifest.json").exists():
        for pointer in (CURRENT, "latest"):
            if (path / pointer).exists():
                path = path / pointer
                break
    if path.is_file() and path.name in (CURRENT, "latest"):
        path = path.parent / path.read_text().strip()
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise RunError(f"{path}: not a chi run (no manifest.json); run `chi score` first")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        raise RunError(f"{manifest_path}: manifest is not valid JSON") from None
    return Run(path=path.resolve(), manifest=manifest)


def list_runs(runs_dir: Path) -> list[Run]:
    """Every published run in ``runs_dir``, oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RunError(f"{runs_dir}: no such runs folder")
    out = []
    for child in sorted(runs_dir.iterdir()):
        if child.name.startswith(".") or child.name in ("latest", CURRENT) or not child.is_dir():
            continue
        try:
            out.append(open_run(child))
        except RunError:
            continue
    return sorted(out, key=lambda r: (r.manifest.get("created_at", ""), r.run_id))


def latest_run_id(runs_dir: Path) -> str | None:
    link = Path(runs_dir) / "latest"
    if link.is_symlink():
        return str(link.readlink())
    if link.is_file():
        return link.read_text().strip()
    return None


def score_and_publish(
    extract: Path,
    runs_dir: Path,
    policy: Policy,
    months: str | None = None,
    progress: Progress = silent,
    partial: bool = True,
) -> Path:
    """Validate, score and publish in one call; ``months`` like ``2024-01:2024-12`` or None
    for every complete month (only those whose whole window lies inside the extract unless
    ``partial``). Months with a partial window are listed in the manifest
    (``partial_months``). Returns the published run folder."""
    with prepare(extract, policy=policy, progress=progress) as p:
        month_list = parse_months(months) if months else complete_months(p)
        if not months and not partial:
            month_list = full_window_months(p, month_list)
        lists = score(p, month_list, progress=progress)
        progress("publishing", 0.95)
        path = publish(p, lists, runs_dir)
    progress("published", 1.0)
    return path


# Draft and current runs. ``RUNS/latest`` is the newest run; ``RUNS/current`` is the run every
# user reads (lists, downloads, meetings, backtests). A new run is a draft, seen by analysts
# only, until an analyst makes it current (``chi publish RUN`` or the Runs page); an earlier
# run can be made current again. The first run of a runs folder is current at once (there is
# nothing else to show), and a folder from before drafts keeps its latest run as current.
# Callers audit each change; ``current.jsonl`` in the runs folder keeps the history too.

CURRENT = "current"


def current_run_id(runs_dir: Path) -> str | None:
    """The run every user reads, or None when no run has been made current."""
    link = Path(runs_dir) / CURRENT
    if link.is_symlink():
        return str(link.readlink())
    if link.is_file():
        return link.read_text().strip() or None
    return None


def _point(runs_dir: Path, name: str, run_id: str) -> None:
    link = runs_dir / name
    tmp = runs_dir / f".{name}-{run_id}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    try:
        tmp.symlink_to(run_id, target_is_directory=True)
    except OSError:  # no symlinks: a one-line file instead, as for ``latest``
        tmp.write_text(run_id + "\n")
    tmp.replace(link)


def _adopt_current(runs_dir: Path, new_run_id: str) -> None:
    """Before ``latest`` moves: a folder with no current run keeps its previous latest run
    as current (a folder from before drafts), or makes its first run current."""
    if current_run_id(runs_dir) is not None:
        return
    previous = latest_run_id(runs_dir)
    chosen = previous if previous and (runs_dir / previous / "manifest.json").is_file() else None
    _point(runs_dir, CURRENT, chosen or new_run_id)
    _log_current(runs_dir, chosen or new_run_id, None, "chi (first run)")


def _log_current(runs_dir: Path, run_id: str, previous: str | None, by: str) -> None:
    line = {
        "at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "run_id": run_id,
        "previous": previous,
        "by": by,
    }
    with (runs_dir / "current.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


def make_current(runs_dir: Path, run_id: str, by: str) -> str | None:
    """Make ``run_id`` (a published run of ``runs_dir``) the run every user reads; returns
    the run that was current before (None if there was none). Refuses an unknown run."""
    runs_dir = Path(runs_dir)
    if "/" in run_id or "\\" in run_id or run_id.startswith(".") or run_id in (CURRENT, "latest"):
        raise RunError(f"{run_id}: not a run id")
    run = open_run(runs_dir / run_id)
    previous = current_run_id(runs_dir)
    if previous == run.run_id:
        return previous
    _point(runs_dir, CURRENT, run.run_id)
    _log_current(runs_dir, run.run_id, previous, by)
    return previous


def open_current(runs_dir: Path) -> Run:
    """The current run of ``runs_dir`` (what every user reads)."""
    run_id = current_run_id(runs_dir) or latest_run_id(runs_dir)
    if run_id is None:
        raise RunError(f"{runs_dir}: no current run; run `chi score` then `chi publish RUN`")
    return open_run(Path(runs_dir) / run_id)


def victims_listed_last_month(run: Run) -> int:
    """People on the victim list of the run's last month (not the sum over its months)."""
    months = run.manifest.get("months") or []
    if not months:
        return 0
    table = pq.read_table(
        run.file("victim_list"), columns=["month"], filters=[("month", "=", months[-1])]
    )
    return int(table.num_rows)


def full_window_months(p: Prepared, months: list[str]) -> list[str]:
    """The ``months`` whose whole window lies inside the extract; an error naming the first
    such month when there is none."""
    partial = set(partial_months(p, months))
    out = [m for m in months if m not in partial]
    if months and not out:
        raise ValueError(
            f"no list month has its whole {p.policy.window_months}-month window inside the "
            f"extract (its first month is {first_month(p)}, its last {months[-1]}); give "
            "--partial to score them anyway, marked partial"
        )
    return out


def extract_first_month(run: Run) -> str | None:
    """The first month of the run's extract (the manifest's, else its first victimisation's)."""
    first = run.manifest.get("first_month")
    if first:
        return str(first)
    months = pq.read_table(run.file("victimisations"), columns=["month"])["month"]
    import pyarrow.compute as pc

    value = pc.min(months).as_py() if len(months) else None
    return None if value is None else str(value)
