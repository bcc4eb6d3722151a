"""Runs: publish a scoring run atomically, find runs, and reproduce one from its manifest.

A run is a folder ``RUNS/<run_id>/`` (contract §4). Publishing is safe with any number of
publishers at once and against a crash at any point:

- ``run_id`` is the creation time, the inputs' digest and a random suffix (:func:`new_run_id`),
  so two runs in the same second never share an id;
- the run is written under ``RUNS/.incoming-<run_id>/``, created exclusively with an owner
  record (pid, host) inside (:func:`_make_incoming`), so no two processes share a folder;
- every file is synced to disk and checked against the manifest's checksum before the
  folder is renamed into place; the runs folder is synced after the rename;
- ``RUNS/latest`` is switched under the runs lock (:func:`runs_lock`,
  :func:`switch_pointer`; another pointer beside ``latest`` reuses both);
- temporary folders of dead runs are removed by the next publish (:func:`stale_incoming`).

The manifest records everything needed to reproduce the lists: extract files with
checksums, ``extract.json``'s checksum, the as-of date used and its source, policy, weight
set with checksum, months and chi's version; :func:`rerun_inputs` refuses a rerun when any
of them changed. List files are written from deterministically ordered tables, so the same
inputs give byte-identical files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from chi import __version__, sql
from chi.contract import CONTRACT_VERSION, file_sha256
from chi.months import parse_months
from chi.progress import Progress, silent
from chi.reference import geography, offence_rules_manifest
from chi.scoring.class_rule import impact as class_rule_impact
from chi.scoring.manifest import ExtractRecord, Manifest, WeightsRecord
from chi.scoring.manifest import Run as Run  # a run folder: one type for every caller
from chi.scoring.manifest import RunError as RunError
from chi.scoring.policy import Policy
from chi.scoring.score import (
    LIST_NAMES,
    Lists,
    ListTables,
    complete_months,
    first_month,
    partial_months,
    score_tables,
)
from chi.scoring.staged import manifest_entry as staged_manifest
from chi.scoring.staged import staged_readers

if TYPE_CHECKING:  # imported where an extract is prepared: not for reading a run
    from chi.scoring.prepare import Prepared

LIST_FILES = LIST_NAMES
POINTERS = ("latest", "current")
"""Names in a runs folder that point at a run (switched only under :func:`runs_lock`)."""
INCOMING = ".incoming-"
OWNER_FILE = ".owner.json"
LOCK_FILE = ".lock"
STALE_UNOWNED_SECONDS = 24 * 3600


ROW_GROUP_ROWS = 1024 * 1024
"""Rows in a row group of every run file: ``pq.write_table``'s default, so that a file written
one row group at a time is byte for byte the file ``pq.write_table`` makes of the whole
table (proved by ``tests/test_publish_files.py``)."""

RowGroups = Iterator[pa.Table]
"""A file's rows, one table a row group (at least one, empty for an empty file)."""


def row_groups(batches: pa.RecordBatchReader, rows: int | None = None) -> RowGroups:
    """The reader's rows cut into tables of ``rows`` rows (the last one shorter), each made of
    the reader's batches as they came, sliced at the cuts: the slices ``pq.write_table``
    writes as row groups of the whole table, holding one row group at a time rather than
    the table (at national scale a staged table is gigabytes outside DuckDB's memory
    limit)."""
    rows = ROW_GROUP_ROWS if rows is None else rows
    pending: list[pa.RecordBatch] = []
    held = 0
    cut = False
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending, batches.schema)
            yield table.slice(0, rows)
            cut = True
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held or not cut:
        yield pa.Table.from_batches(pending, batches.schema)


def _write(groups: RowGroups, path: Path) -> dict[str, Any]:
    first = next(groups)
    rows = 0
    with pq.ParquetWriter(path, first.schema, compression="zstd") as writer:
        for group in itertools.chain([first], groups):
            writer.write_table(group)
            rows += group.num_rows
    return {"rows": rows, "sha256": file_sha256(path)}


def _write_synced(groups: RowGroups, path: Path) -> dict[str, Any]:
    """Write one file, take its checksum and sync it to disk (one worker thread's job)."""
    out = _write(groups, path)
    _fsync_file(path)
    return out


class _Files:
    """The run's Parquet files, each written, checksummed and synced in a worker thread from
    a query's result read one row group at a time (Arrow and DuckDB release the GIL while
    they compute, encode, compress and sync), so the next files' queries and the
    manifest's run meanwhile and no whole table is held in Python. Every file is the same
    as written one by one from whole tables. Used as a context manager: leaving it waits
    for every worker, so nothing is still writing when a failed run's folder is removed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.workers = os.cpu_count() or 1
        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.futures: dict[str, Future[dict[str, Any]]] = {}

    def __enter__(self) -> _Files:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=exc[0] is not None)

    def write(self, name: str, source: Callable[[], RowGroups]) -> None:
        """Queue ``folder/<name>.parquet`` from ``source()``, called here (the query starts on
        this thread's cursor) and read by a worker; first raise the failure of a file
        already written (a full disk), not to query more for a run that cannot be."""
        if any(f.done() and f.exception() is not None for f in self.futures.values()):
            self.outputs()
        # At most one file a worker in flight: a started query holds DuckDB memory and a row
        # group of Arrow memory, so the next one is not started until a worker is free.
        pending = [f for f in self.futures.values() if not f.done()]
        if len(pending) >= self.workers:
            wait(pending, return_when=FIRST_COMPLETED)
        path = self.folder / f"{name}.parquet"
        self.futures[name] = self.pool.submit(_write_synced, source(), path)

    def outputs(self) -> dict[str, Any]:
        """Every file's rows and checksum, in the order queued, once all are written; the
        first failure in that order (the same one whichever thread finished first)."""
        wait(self.futures.values())
        return {name: f.result() for name, f in self.futures.items()}


def _query(p: Prepared, name: str) -> Callable[[], RowGroups]:
    """A file's row groups from ``sql/<name>.sql``, read as its result streams."""
    return lambda: row_groups(sql.run(p.con, name).to_arrow_reader())


def _batches(reader: Callable[..., pa.RecordBatchReader], *args: str) -> Callable[[], RowGroups]:
    """A file's row groups from ``reader(*args)``."""
    return lambda: row_groups(reader(*args))


def _victimisations(p: Prepared) -> Callable[[], RowGroups]:
    """The staged victimisations as stored (already in the published order) with the two
    looked-up columns added, so the wide rows are never joined or sorted again: only the
    narrow lookup is, by the stored row order. Both results stream side by side, cut at the
    same rows, each column keeping its own result's batches (as whole tables did)."""

    def source() -> RowGroups:
        rows = sql.run(p.con, "publish/victimisations").to_arrow_reader()
        looked_up = sql.run(p.con, "publish/victimisation_lookups").to_arrow_reader()
        return _with_lookups(p, row_groups(rows), row_groups(looked_up))

    return source


def _with_lookups(p: Prepared, rows: RowGroups, looked_up: RowGroups) -> RowGroups:
    for group, extra in itertools.zip_longest(rows, looked_up):
        if group is None or extra is None or group.num_rows != extra.num_rows:
            # one weight row per offence key, or the lookup has more rows than victimisations
            raise RunError(
                f"the weight set {p.policy.weights} has an offence key more than once; "
                "nothing was published"
            )
        at = group.schema.get_field_index("ho_class") + 1
        group = group.add_column(at, extra.schema.field("offence_title"), extra["offence_title"])
        yield group.append_column(extra.schema.field("has_suspect"), extra["has_suspect"])


def run_digest(p: Prepared, months: list[str]) -> str:
    """A fingerprint of everything that determines the lists."""
    body = {
        "files": [(f["table"], f["file"], f["sha256"]) for f in p.extract.files_manifest()],
        "policy": p.policy.as_manifest(),
        "weights": p.weight_set.sha256,
        "offence_rules": [t["sha256"] for t in offence_rules_manifest()],
        "geography": geography().sha256,
        "months": months,
        "as_of": p.as_of.isoformat(),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def new_run_id(created: datetime, digest: str) -> str:
    """A run id unique under concurrency: the creation time (to the second, for people to
    read), the inputs' digest and a random suffix, so two runs started in the same second,
    even of the same inputs and in different processes or hosts, never share an id."""
    return f"{created:%Y%m%dT%H%M%SZ}-{digest[:8]}-{secrets.token_hex(4)}"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable; a no-op where folders
    cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_runs_dir(runs_dir: Path) -> None:
    """Refuse, before any work, a runs folder that is a file or whose ``latest`` is not a
    pointer chi wrote."""
    if runs_dir.exists() and not runs_dir.is_dir():
        raise RunError(f"{runs_dir}: is a file, not a runs folder; give --out a folder")
    for name in POINTERS:
        link = runs_dir / name
        if link.is_dir() and not link.is_symlink():
            raise RunError(
                f"{link}: is a folder, not chi's pointer to a run; move it out of the runs folder"
            )


def _make_incoming(runs_dir: Path, created: datetime, digest: str) -> tuple[str, Path]:
    """Create the run's temporary folder exclusively (``os.mkdir`` fails if it exists, so
    no two processes can share one) with an owner record (pid, host) inside, which lets a
    later publish remove it if this process dies."""
    for _ in range(100):
        run_id = new_run_id(created, digest)
        tmp = runs_dir / f"{INCOMING}{run_id}"
        if (runs_dir / run_id).exists():
            continue
        try:
            tmp.mkdir()  # exclusive: fails if the folder exists
        except FileExistsError:
            continue
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id}
        (tmp / OWNER_FILE).write_text(json.dumps(owner) + "\n", encoding="utf-8")
        return run_id, tmp
    raise RunError(f"{runs_dir}: could not create a unique temporary run folder")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:
        return True
    return True


def stale_incoming(runs_dir: Path, now: float | None = None) -> list[Path]:
    """Temporary folders of runs whose process is gone: the owner record names a process of
    this host that no longer exists, or there is no owner record (a crash before it was
    written, or a chi older than this one) and the folder is untouched for a day."""
    now = time.time() if now is None else now
    out: list[Path] = []
    try:
        children = list(runs_dir.iterdir())
    except OSError:
        return out
    for child in children:
        if not child.name.startswith(INCOMING) or not child.is_dir() or child.is_symlink():
            continue
        try:
            owner = json.loads((child / OWNER_FILE).read_text(encoding="utf-8"))
            pid, host = int(owner["pid"]), str(owner["host"])
        except (OSError, ValueError, KeyError, TypeError):
            try:
                age = now - child.stat().st_mtime
            except OSError:
                continue
            if age > STALE_UNOWNED_SECONDS:
                out.append(child)
            continue
        if host == socket.gethostname() and not _process_alive(pid):
            out.append(child)
    return out


def remove_stale_incoming(runs_dir: Path) -> list[str]:
    """Remove the temporary folders of dead runs; returns their names."""
    removed = []
    for path in stale_incoming(runs_dir):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _remove_stale_pointer_links(runs_dir: Path) -> None:
    """New pointer links (``.latest-<run_id>-<suffix>``) live only inside
    :func:`switch_pointer`, under the runs lock; one seen by a holder of the lock was left by
    a process killed there. Call under :func:`runs_lock`."""
    for name in POINTERS:
        for child in runs_dir.glob(f".{name}-*"):
            if child.is_symlink() or child.is_file():
                child.unlink(missing_ok=True)


@contextmanager
def runs_lock(runs_dir: Path, timeout: float = 60.0) -> Iterator[None]:
    """The runs folder's write lock: held to switch a pointer (``latest``) and to clean up
    temporary folders, so two publishers never interleave there. A pointer of another kind
    reuses it through :func:`switch_pointer`."""
    lock = FileLock(str(runs_dir / LOCK_FILE), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise RunError(
            f"{runs_dir}: another chi process holds the runs lock ({LOCK_FILE}); "
            "try again when it has finished"
        ) from None


def _verify_outputs(tmp: Path, outputs: dict[str, Any]) -> None:
    """Re-read every file and compare it with the checksum the manifest will carry."""
    for name, out in outputs.items():
        path = tmp / f"{name}.parquet"
        if file_sha256(path) != out["sha256"]:
            raise RunError(f"{path}: changed while the run was written; nothing was published")


def publish(
    p: Prepared, lists: Lists | ListTables, runs_dir: Path, now: datetime | None = None
) -> Path:
    """Write the run under an exclusive temporary folder, sync it to disk, check it against
    its manifest, rename it into place and point ``latest`` at it under the runs lock."""
    runs_dir = Path(runs_dir)
    _check_runs_dir(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    with runs_lock(runs_dir):
        remove_stale_incoming(runs_dir)
        _remove_stale_pointer_links(runs_dir)
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    digest = run_digest(p, lists.months)
    run_id, tmp = _make_incoming(runs_dir, created, digest)
    final = runs_dir / run_id
    try:
        with _Files(tmp) as files:
            for name in LIST_FILES:
                files.write(name, _batches(lists.reader, name))
            files.write("rejects", _query(p, "publish/rejects"))
            files.write("people", _query(p, "publish/people"))
            files.write("victimisations", _victimisations(p))
            for name, reader in staged_readers(p):
                files.write(name, _batches(reader))
            # the manifest's queries run while the last files are written
            class_rule = class_rule_impact(p)
            weight_basis = p.basis_counts()
            weight_rules = [{"basis": b, "rule": r, "crimes": n} for b, r, n in p.rule_counts()]
            unmatched = [
                {"offence_code": a, "ho_class": b, "crimes": n} for a, b, n in p.unmatched_codes()
            ]
            outputs = files.outputs()
        manifest = Manifest(
            run_id=run_id,
            created_at=created.isoformat().replace("+00:00", "Z"),
            chi_version=__version__,
            contract_version=CONTRACT_VERSION,
            digest=digest,
            extract=ExtractRecord(
                path=str(p.extract.folder.resolve()),
                force=p.extract.meta.force,
                as_of=p.as_of.isoformat(),
                as_of_source=p.as_of_source,
                files=p.extract.files_manifest(),
                metadata=p.extract.meta_manifest(),
            ),
            policy=p.policy.as_manifest(),
            weights=WeightsRecord.from_dict(p.weight_set.as_manifest()),
            geography=geography().as_manifest(),
            months=lists.months,
            first_month=first_month(p),
            partial_months=partial_months(p, lists.months),
            counts={
                name: {"read": c.read, "accepted": c.accepted, "rejected": c.rejected}
                for name, c in p.counts.items()
            },
            weight_basis=weight_basis,
            weight_rules=weight_rules,
            class_rule=class_rule,
            unmatched_codes=unmatched,
            outputs=outputs,
            staged=staged_manifest(p, list(outputs)),
        )
        manifest_path = tmp / "manifest.json"
        manifest_path.write_text(manifest.to_json(), encoding="utf-8")
        _fsync_file(manifest_path)  # the Parquet files were synced as they were written
        _verify_outputs(tmp, outputs)
        (tmp / OWNER_FILE).unlink()
        _fsync_dir(tmp)
        if final.exists():  # cannot happen with a random suffix; never replace a run
            raise RunError(f"{final}: a run of this id already exists; nothing was published")
        tmp.rename(final)
        _fsync_dir(runs_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with runs_lock(runs_dir):
        _adopt_current(runs_dir, run_id)
        switch_pointer(runs_dir, "latest", run_id)
    return final


def switch_pointer(runs_dir: Path, name: str, run_id: str) -> None:
    """Point ``RUNS/<name>`` at a published run, atomically (a new link renamed over the old
    one). Call it under :func:`runs_lock`."""
    if not (runs_dir / run_id / "manifest.json").is_file():
        raise RunError(f"{runs_dir / run_id}: not a published run; {name} not moved")
    link = runs_dir / name
    if link.is_dir() and not link.is_symlink():
        raise RunError(
            f"{link}: is a folder, not chi's pointer to a run; move it out of the runs folder"
        )
    tmp = runs_dir / f".{name}-{run_id}-{secrets.token_hex(4)}"
    try:
        tmp.symlink_to(run_id, target_is_directory=True)
    except OSError:  # no symlinks (some Windows set-ups): a one-line file instead
        tmp.write_text(run_id + "\n", encoding="utf-8")
        _fsync_file(tmp)
    try:
        tmp.replace(link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(runs_dir)


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
        text = manifest_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunError(f"{manifest_path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RunError(f"{manifest_path}: manifest is not valid JSON") from None
    try:
        manifest = Manifest.from_json(text)
    except ValueError as exc:
        raise RunError(f"{manifest_path}: {exc}") from None
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
    # created_at is whole seconds: two runs of one second are ordered by when each wrote its
    # manifest (the run id's random suffix says nothing about which came first)
    return sorted(out, key=lambda r: (r.manifest.created_at, _written_ns(r), r.run_id))


def _written_ns(run: Run) -> int:
    try:
        return (run.path / "manifest.json").stat().st_mtime_ns
    except OSError:
        return 0


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
    as_of: date | None = None,
    partial: bool = True,
) -> Path:
    """Validate, score and publish in one call; ``months`` like ``2024-01:2024-12`` or None
    for every complete month (only those whose whole window lies inside the extract unless
    ``partial``); ``as_of`` overrides the extract's. Months with a partial window are listed
    in the manifest (``partial_months``). Returns the published run folder."""
    from chi.scoring.prepare import prepare

    _check_runs_dir(Path(runs_dir))  # before the work, not after it
    with prepare(extract, policy=policy, progress=progress, as_of=as_of) as p:
        month_list = parse_months(months) if months else complete_months(p)
        if not months and not partial:
            month_list = full_window_months(p, month_list)
        lists = score_tables(p, month_list, progress=progress)
        progress("publishing", 0.95)
        path = publish(p, lists, runs_dir)
    progress("published", 1.0)
    return path


def file_changes(
    recorded: Iterable[Mapping[str, Any]], current: Iterable[Mapping[str, Any]]
) -> list[str]:
    """How an extract's files differ from those a run recorded (``files`` entries of the
    manifest against ``Extract.files_manifest()``): each missing, new or changed file, in
    order; empty when the extract is unchanged since the run."""
    then = {(f["table"], f["file"]): f["sha256"] for f in recorded}
    now = {(f["table"], f["file"]): f["sha256"] for f in current}
    changes = [f"{file} ({table}) is missing" for table, file in sorted(then.keys() - now.keys())]
    changes += [f"{file} ({table}) is new" for table, file in sorted(now.keys() - then.keys())]
    changes += [
        f"{file} ({table}) changed"
        for table, file in sorted(then.keys() & now.keys())
        if then[table, file] != now[table, file]
    ]
    return changes


def rerun_inputs(run: Run, extract: Path | None = None) -> tuple[Path, Policy, str, date]:
    """What a rerun of ``run`` scores: the extract (its recorded path, or ``extract`` for one
    that moved), policy, months and as-of date. Refuses, naming every difference, when the
    extract's files, its extract.json or the weight set no longer match the manifest."""
    from chi.extract.read import locate
    from chi.reference import load_weight_set

    m = run.manifest
    recorded = m.extract
    folder = Path(extract) if extract is not None else Path(recorded.path)
    try:
        files = [{k: f[k] for k in ("table", "file", "sha256")} for f in recorded.files]
        as_of = recorded.as_of_date
        policy = Policy.from_manifest(m.policy)
    except (KeyError, TypeError, ValueError):
        raise RunError(f"{run.path}: the manifest is incomplete; the run cannot be rerun") from None
    months = f"{m.months[0]}:{m.months[-1]}"
    weights_then = m.weights.sha256
    if extract is None and not folder.is_dir():
        raise RunError(
            f"{folder}: the extract of run {run.run_id} is not there any more; "
            "give its new folder with --extract PATH"
        )
    current = locate(folder)
    changes = file_changes(files, current.files_manifest())
    meta_then = recorded.metadata
    meta_now = current.meta_manifest()
    if meta_then is not None and meta_then.get("sha256") != meta_now["sha256"]:
        if meta_now["sha256"] is None:
            changes.append("extract.json was removed")
        elif meta_then.get("sha256") is None:
            changes.append("extract.json was added")
        else:
            changes.append("extract.json changed")
    if meta_then is None and current.meta.as_of is not None and current.meta.as_of != as_of:
        changes.append(f"extract.json as_of is {current.meta.as_of}, the run used {as_of}")
    extract_changed = bool(changes)
    try:
        ws = load_weight_set(policy.weights)
    except Exception:
        ws = None
    if ws is None or ws.sha256 != weights_then:
        changes.append(f"the weight set {policy.weights} is not the one the run used")
    geography_then = m.geography
    if isinstance(geography_then, dict) and geography_then.get("sha256") != geography().sha256:
        changes.append(
            f"the geography file ({geography_then.get('file')}) is not the one the run used"
        )
    if changes:
        # Not always the extract: the weight set or the geography may be what changed.
        what = "the extract" if extract_changed else "the inputs"
        raise RunError(
            f"{folder}: {what} changed since run {run.run_id}, so it cannot be rerun: "
            + "; ".join(changes)
            + " (a rerun reproduces a run only from the inputs it was made from)"
        )
    return folder, policy, months, as_of


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


def _adopt_current(runs_dir: Path, new_run_id: str) -> None:
    """Before ``latest`` moves (under :func:`runs_lock`): a folder with no current run keeps
    its previous latest run as current (a folder from before drafts), or makes its first run
    current."""
    if current_run_id(runs_dir) is not None:
        return
    previous = latest_run_id(runs_dir)
    chosen = previous if previous and (runs_dir / previous / "manifest.json").is_file() else None
    switch_pointer(runs_dir, CURRENT, chosen or new_run_id)
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
    with runs_lock(runs_dir):
        previous = current_run_id(runs_dir)
        if previous == run.run_id:
            return previous
        switch_pointer(runs_dir, CURRENT, run.run_id)
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
    months = run.manifest.months
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
    first = run.manifest.first_month
    if first:
        return str(first)
    months = pq.read_table(run.file("victimisations"), columns=["month"])["month"]
    import pyarrow.compute as pc

    value = pc.min(months).as_py() if len(months) else None
    return None if value is None else str(value)
