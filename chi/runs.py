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
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
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
from chi.score import Lists, complete_months, parse_months, score

LIST_FILES = ("victim_list", "victim_exits", "offender_list", "dyads")


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


def _write_all(tables: dict[str, pa.Table], folder: Path) -> dict[str, Any]:
    """Write every table to ``folder/<name>.parquet`` in parallel (Arrow releases the GIL
    while encoding and compressing); the files are the same as written one by one."""
    with ThreadPoolExecutor(max_workers=min(len(tables), os.cpu_count() or 1) or 1) as pool:
        futures = {
            name: pool.submit(_write, table, folder / f"{name}.parquet")
            for name, table in tables.items()
        }
        return {name: f.result() for name, f in futures.items()}


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
        tables = {name: getattr(lists, name) for name in LIST_FILES}
        tables["rejects"] = _rejects(p)
        tables["people"] = _people(p)
        tables["victimisations"] = _victimisations(p)
        outputs = _write_all(tables, tmp)
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
    """A run folder, or ``RUNS/latest``, or a runs folder (meaning its latest run)."""
    path = Path(path)
    if (path / "latest").exists() and not (path / "manifest.json").exists():
        path = path / "latest"
    if path.is_file() and path.name == "latest":
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
        if child.name.startswith(".") or child.name == "latest" or not child.is_dir():
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
) -> Path:
    """Validate, score and publish in one call; ``months`` like ``2024-01:2024-12`` or None
    for every complete month. Returns the published run folder."""
    with prepare(extract, policy=policy, progress=progress) as p:
        month_list = parse_months(months) if months else complete_months(p)
        lists = score(p, month_list, progress=progress)
        progress("publishing", 0.95)
        path = publish(p, lists, runs_dir)
    progress("published", 1.0)
    return path
