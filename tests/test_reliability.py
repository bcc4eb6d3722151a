"""Issue 11: nothing a user or a fault does ends in a traceback, a lost row or a corrupt run.

One test (or more) per numbered case of the issue, at the level it was found: the command
line, a publish in several processes at once, a machine in another time zone.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factory import GBH_S20, HOME_A, LSOA_B, crime, person, victim, write_extract
from typer.testing import CliRunner, Result

from chi.cli import app
from chi.contract import TABLES, ExtractMeta, arrow_schema
from chi.extract import read as read_module
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.prepare import prepare
from chi.scoring.runs import (
    INCOMING,
    OWNER_FILE,
    Run,
    RunError,
    latest_run_id,
    list_runs,
    open_run,
    score_and_publish,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(result: Result) -> str:
    """The result of a command that failed cleanly: exit 2, no traceback, one line."""
    exit_code = result.exit_code
    exception = result.exception
    output = result.output
    assert exit_code == 2, output
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("chi: ")
    return lines[0]


@pytest.fixture
def small_extract(tmp_path: Path) -> Path:
    return write_extract(
        tmp_path / "extract",
        crimes=[
            crime("G1", "2024-03-15", offence_code=GBH_S20),
            crime("B1", "2024-04-01", lsoa_code=LSOA_B),
            crime("B2", "2024-04-02", lsoa_code=LSOA_B),
            crime("B3", "2024-05-03", lsoa_code=LSOA_B),
            crime("C1", "2024-05-04"),
        ],
        persons=[
            person("A", home_lsoa_code=HOME_A),
            person("B"),
            person("C"),
        ],
        victims=[
            victim("G1", "A"),
            victim("B1", "B"),
            victim("B2", "B"),
            victim("B3", "B"),
            victim("C1", "C"),
        ],
        as_of="2024-05-31",
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_run_matches_manifest(run_dir: Path) -> None:
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["run_id"] == run_dir.name
    for name, out in m["outputs"].items():
        assert _sha(run_dir / f"{name}.parquet") == out["sha256"], name
    assert not (run_dir / OWNER_FILE).exists()


# --- (1) the generator on small runs ------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        GenerateOptions(seed=5, start="2024-01", months=3),
        GenerateOptions(seed=1, start="2024-01", months=1, scale=0.3),
    ],
)
def test_generator_small_runs_of_the_issue(tmp_path: Path, options: GenerateOptions) -> None:
    summary = generate_extract(tmp_path / "x", options)
    assert all(n > 0 for n in summary.rows.values())
    with prepare(tmp_path / "x") as p:
        assert all(c.reconciles for c in p.counts.values())
        assert p.counts["crimes"].read == summary.rows["crimes"]


def test_generator_refuses_a_scale_too_small_to_make_an_extract(tmp_path: Path) -> None:
    line = _one_line_error(
        runner.invoke(app, ["generate", str(tmp_path / "x"), "--scale", "0.00003"])
    )
    assert "scale must be 0.01 to 200" in line
    assert not (tmp_path / "x").exists()


# --- (2) publishing: unique ids, exclusive temp folders, locks, checksums, clean-up ------

_PUBLISHER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from chi.scoring.prepare import prepare
from chi.scoring.policy import Policy
from chi.scoring.runs import publish
from chi.scoring.score import complete_months, score
extract, runs, go, ready = map(Path, sys.argv[1:5])
with prepare(extract, policy=Policy()) as p:
    lists = score(p, complete_months(p))
    ready.touch()
    while not go.exists():
        time.sleep(0.002)
    print(publish(p, lists, runs, now=datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)))
"""


def test_publishers_in_the_same_second_all_publish_whole_runs(
    small_extract: Path, tmp_path: Path
) -> None:
    """Four processes publish the same inputs at the same moment with the same clock: four
    runs, each matching its manifest, and ``latest`` points at one of them."""
    runs, go = tmp_path / "runs", tmp_path / "go"
    script = tmp_path / "publisher.py"
    script.write_text(_PUBLISHER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(small_extract), str(runs), str(go), str(ready)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ready in (tmp_path / f"ready-{n}" for n in range(4))
    ]
    deadline = time.monotonic() + 180
    while not all((tmp_path / f"ready-{n}").exists() for n in range(4)):
        assert all(p.poll() is None for p in procs), "a publisher died before publishing"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        outputs.append(Path(out.strip().splitlines()[-1]))
    assert len(set(outputs)) == 4
    published = list_runs(runs)
    assert sorted(r.path for r in published) == sorted(o.resolve() for o in outputs)
    for r in published:
        _assert_run_matches_manifest(r.path)
        assert r.run_id.startswith("20240601T120000Z-")
    assert latest_run_id(runs) in {o.name for o in outputs}
    assert not [c for c in runs.iterdir() if c.name.startswith(INCOMING)]
    leftovers = [c.name for c in runs.iterdir() if c.name.startswith(".latest")]
    assert leftovers == []


def test_a_file_changed_before_the_rename_is_never_published(
    small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    first = score_and_publish(small_extract, runs, Policy())
    import chi.scoring.runs as runs_module

    real = runs_module._fsync_file

    def tamper(path: Path) -> None:
        if path.name == "victim_list.parquet":
            with path.open("ab") as fh:
                fh.write(b"another process")
        real(path)

    monkeypatch.setattr(runs_module, "_fsync_file", tamper)
    with pytest.raises(RunError, match="changed while the run was written"):
        score_and_publish(small_extract, runs, Policy())
    assert [r.run_id for r in list_runs(runs)] == [first.name]
    assert latest_run_id(runs) == first.name
    assert not [c for c in runs.iterdir() if c.name.startswith(INCOMING)]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_folders_of_dead_runs_are_removed(small_extract: Path, tmp_path: Path) -> None:
    import socket

    runs = tmp_path / "runs"
    runs.mkdir()
    dead = runs / f"{INCOMING}dead"
    dead.mkdir()
    (dead / "victim_list.parquet").write_bytes(b"half")
    (dead / OWNER_FILE).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    alive = runs / f"{INCOMING}alive"
    alive.mkdir()
    (alive / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    elsewhere = runs / f"{INCOMING}elsewhere"
    elsewhere.mkdir()
    (elsewhere / OWNER_FILE).write_text(json.dumps({"pid": 1, "host": "another-host"}))
    old_unowned = runs / f"{INCOMING}old"
    old_unowned.mkdir()
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old_unowned, (week_ago, week_ago))
    fresh_unowned = runs / f"{INCOMING}fresh"
    fresh_unowned.mkdir()

    (runs / ".latest-r0-dead").symlink_to("r0")  # a switch of latest killed half-way
    score_and_publish(small_extract, runs, Policy())
    left = sorted(c.name for c in runs.iterdir() if c.name.startswith(INCOMING))
    assert left == sorted([alive.name, elsewhere.name, fresh_unowned.name])
    assert not [c for c in runs.iterdir() if c.name.startswith(".latest-")]


def test_a_killed_publish_leaves_a_folder_the_next_publish_removes(
    small_extract: Path, tmp_path: Path
) -> None:
    """kill -9 in the middle of writing: nothing visible, and the next publish cleans up."""
    runs = tmp_path / "runs"
    script = tmp_path / "slow.py"
    script.write_text(
        """
import sys, time
from pathlib import Path
import threading
import chi.scoring.runs as r
real = r._write
said = threading.Lock()
def slow(table, path):
    out = real(table, path)
    with said:  # files are written in parallel: one line per file, never interleaved
        sys.stdout.write("writing\\n")
        sys.stdout.flush()
    time.sleep(60)
    return out
r._write = slow
from chi.scoring.policy import Policy
r.score_and_publish(Path(sys.argv[1]), Path(sys.argv[2]), Policy())
"""
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(small_extract), str(runs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    assert [c for c in runs.iterdir() if c.name.startswith(INCOMING)]
    assert list_runs(runs) == [] and latest_run_id(runs) is None
    run = score_and_publish(small_extract, runs, Policy())
    assert [c for c in runs.iterdir() if c.name.startswith(INCOMING)] == []
    assert latest_run_id(runs) == run.name


def test_latest_that_is_a_folder_or_out_that_is_a_file_is_one_line(
    small_extract: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    (runs / "latest").mkdir(parents=True)
    line = _one_line_error(runner.invoke(app, ["score", str(small_extract), "--out", str(runs)]))
    assert "latest" in line and "is a folder" in line
    assert sorted(c.name for c in runs.iterdir() if not c.name.startswith(".")) == ["latest"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    line = _one_line_error(runner.invoke(app, ["score", str(small_extract), "--out", str(a_file)]))
    assert "notes.txt" in line and "is a file" in line


# --- (3) rerun and extract.json ------------------------------------------------------------


def test_rerun_refuses_when_extract_json_changed_or_was_removed(
    small_extract: Path, tmp_path: Path
) -> None:
    run = score_and_publish(small_extract, tmp_path / "runs", Policy())
    m = open_run(run).manifest.to_dict()
    assert m["extract"]["metadata"]["sha256"] == _sha(small_extract / "extract.json")
    assert m["extract"]["as_of"] == "2024-05-31"
    assert m["extract"]["as_of_source"] == "extract.json"

    ExtractMeta(force="Test", as_of=date(2024, 4, 30)).dump(small_extract)
    line = _one_line_error(runner.invoke(app, ["rerun", str(run)]))
    assert "extract.json changed" in line
    (small_extract / "extract.json").unlink()
    line = _one_line_error(runner.invoke(app, ["rerun", str(run)]))
    assert "extract.json was removed" in line
    assert len(list_runs(tmp_path / "runs")) == 1


def test_rerun_of_a_moved_extract_with_extract_option(small_extract: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = score_and_publish(small_extract, runs, Policy(min_harm=100))  # type: ignore[arg-type]
    moved = tmp_path / "moved"
    small_extract.rename(moved)
    line = _one_line_error(runner.invoke(app, ["rerun", str(run)]))
    assert "--extract" in line
    done = runner.invoke(app, ["rerun", str(run), "--extract", str(moved)])
    assert done.exit_code == 0, done.output
    second = Path(done.output.strip().splitlines()[-1])
    for name in ("victim_list", "victim_exits", "offender_list", "dyads", "rejects"):
        assert (run / f"{name}.parquet").read_bytes() == (second / f"{name}.parquet").read_bytes()
    assert open_run(second).manifest.extract.as_of == "2024-05-31"
    # a different extract at the new path is refused, naming the file
    write_extract(moved, crimes=[crime("X1", "2024-05-01")], persons=[], victims=[])
    line = _one_line_error(runner.invoke(app, ["rerun", str(run), "--extract", str(moved)]))
    assert "crimes.parquet (crimes) changed" in line


def test_rerun_keeps_the_as_of_of_a_run_made_without_extract_json(
    small_extract: Path, tmp_path: Path
) -> None:
    (small_extract / "extract.json").unlink()
    run = score_and_publish(small_extract, tmp_path / "runs", Policy())
    m = open_run(run).manifest.to_dict()
    assert m["extract"]["as_of"] == "2024-05-04"
    assert m["extract"]["as_of_source"] == "latest recorded_date"
    assert m["extract"]["metadata"]["sha256"] is None
    ExtractMeta(as_of=date(2024, 4, 30)).dump(small_extract)
    line = _one_line_error(runner.invoke(app, ["rerun", str(run)]))
    assert "extract.json was added" in line


# --- (4) time zones --------------------------------------------------------------------------

_TZ_PROBE = """
import json, sys
from pathlib import Path
from chi.scoring.prepare import prepare
with prepare(Path(sys.argv[1])) as p:
    rows = p.con.cursor().sql(
        "select crime_id, cast(recorded_date as varchar) from valid_crimes order by crime_id"
    ).fetchall()
    print(json.dumps({"accepted": rows, "rejected": p.counts["crimes"].rejected}))
"""


def _tz_extract(folder: Path) -> Path:
    """Crimes whose recorded_date is a timestamp with a zone: UTC midnight in summer and
    winter, and local (Europe/London) midnight stored as UTC instants."""
    write_extract(
        folder,
        crimes=[crime(f"C{i}", "2024-01-01") for i in range(4)],
        persons=[person("P")],
        victims=[victim(f"C{i}", "P") for i in range(4)],
    )
    table = pq.read_table(folder / "crimes.parquet")
    utc = pa.timestamp("us", tz="UTC")
    instants = [
        datetime.fromisoformat("2024-06-01T00:00:00+00:00"),  # UTC midnight, summer
        datetime.fromisoformat("2024-01-15T00:00:00+00:00"),  # UTC midnight, winter
        datetime.fromisoformat("2024-06-01T00:00:00+01:00"),  # London midnight, summer
        datetime.fromisoformat("2024-07-31T23:30:00+00:00"),  # 00:30 on 1 August in London
    ]
    for name in ("recorded_date", "occurred_date"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pa.array(instants, type=utc))
    pq.write_table(table, folder / "crimes.parquet")
    return folder


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo"])
def test_tz_aware_timestamps_are_london_dates_whatever_the_machine_zone(
    tmp_path: Path, zone: str
) -> None:
    extract = _tz_extract(tmp_path / "extract")
    script = tmp_path / "probe.py"
    script.write_text(_TZ_PROBE)
    env = {**os.environ, "TZ": zone}
    done = subprocess.run(
        [sys.executable, str(script), str(extract)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["rejected"] == 0
    assert body["accepted"] == [
        ["C0", "2024-06-01"],
        ["C1", "2024-01-15"],
        ["C2", "2024-06-01"],
        ["C3", "2024-08-01"],
    ]


def test_the_force_zone_can_be_configured(tmp_path: Path) -> None:
    extract = _tz_extract(tmp_path / "extract")
    with prepare(extract, policy=Policy(timezone="America/New_York")) as p:
        rows = p.con.cursor().sql("select recorded_date from valid_crimes order by crime_id")
        assert [r[0] for r in rows.fetchall()] == [
            date(2024, 5, 31),
            date(2024, 1, 14),
            date(2024, 5, 31),
            date(2024, 7, 31),
        ]
    with pytest.raises(ValueError, match="not an IANA time zone"):
        Policy(timezone="Mars/Olympus")


# --- (5) validate with no accepted crime -------------------------------------------------


def test_validate_when_no_crime_is_accepted(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-01-01", status="lost"), crime("C2", "2024-01-02", status="x")],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    done = runner.invoke(app, ["validate", str(extract)])
    assert done.exit_code == 0, done.output
    assert done.exception is None
    assert "weight basis (chi2020):" in done.output
    line = next(x for x in done.output.splitlines() if x.startswith("crimes "))
    assert line.split()[:4] == ["crimes", "2", "0", "2"]


# --- (6) a damaged Parquet file ----------------------------------------------------------


def _damage_data_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    md = pq.read_metadata(path)
    col = md.row_group(0).column(0)
    start = col.data_page_offset
    for i in range(start + 40, start + 200):  # past the page header, inside the values
        data[i] = 0xA5
    path.write_bytes(bytes(data))


def test_a_damaged_data_page_is_one_line_naming_the_file(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i:04d}", "2024-01-01") for i in range(300)],
        persons=[person("P")],
        victims=[victim("C0000", "P")],
    )
    table = pq.read_table(extract / "crimes.parquet")
    pq.write_table(table, extract / "crimes.parquet", compression="snappy")
    _damage_data_page(extract / "crimes.parquet")
    pq.read_metadata(extract / "crimes.parquet")  # the footer is intact
    for command in (["validate", str(extract)], ["score", str(extract), "--out", str(tmp_path)]):
        line = _one_line_error(runner.invoke(app, command))
        assert "crimes.parquet" in line and "damaged" in line


# --- (7) only lossless casts -------------------------------------------------------------


def test_lossy_casts_are_rejected_and_lossless_ones_accepted(tmp_path: Path) -> None:
    values = ["3.5", "4.9", "0x0A", "1e1", "4", "4.0", " 7 ", "+2", "-0", "22", "23", "nan"]
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i:02d}", "2024-01-01") for i in range(len(values))],
        persons=[person("P")],
        victims=[],
    )
    table = pq.read_table(extract / "crimes.parquet")
    i = table.schema.get_field_index("outcome_code")
    table = table.set_column(i, "outcome_code", pa.array(values, pa.string()))
    pq.write_table(table, extract / "crimes.parquet")
    # a second file of doubles for the same column
    with prepare(extract) as p:
        got = dict(
            p.con.cursor()
            .sql("select crime_id, outcome_code from src_crimes order by crime_id")
            .fetchall()
        )
        reasons = dict(
            p.con.cursor()
            .sql("select key, reason from rejects where column_name = 'outcome_code'")
            .fetchall()
        )
    assert [got[f"C{i:02d}"] for i in range(len(values))] == [
        None, None, None, None, 4, 4, 7, 2, 0, 22, 23, None
    ]  # fmt: skip
    assert {k for k, r in reasons.items() if r == "not a valid int"} == {
        "C00", "C01", "C02", "C03", "C11"
    }  # fmt: skip
    assert reasons["C10"] == "out of range 1-22"


def test_doubles_cast_to_int_only_when_whole(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i}", "2024-01-01") for i in range(3)],
        persons=[person("P")],
        victims=[],
    )
    table = pq.read_table(extract / "crimes.parquet")
    i = table.schema.get_field_index("outcome_code")
    table = table.set_column(i, "outcome_code", pa.array([3.5, 4.0, None], pa.float64()))
    pq.write_table(table, extract / "crimes.parquet")
    with prepare(extract) as p:
        rows = p.con.cursor().sql("select crime_id, outcome_code from src_crimes order by 1")
        assert rows.fetchall() == [("C0", None), ("C1", 4), ("C2", None)]
        assert p.counts["crimes"].rejected == 1


# --- (8) extra columns of any name -------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["file_row_number"],
        ["ordinality", "file_row_number"],
        ["_file", "_row", "filename"],
        ["CRIME_ID", "Recorded_Date"],
        ["crime_id__raw", "outcome_code__raw"],
    ],
)
def test_extra_columns_of_any_name_are_ignored(tmp_path: Path, extra: list[str]) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-01-01"), crime("C2", "2024-01-02", status="lost")],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    table = pq.read_table(extract / "crimes.parquet")
    for n, name in enumerate(extra):  # extra columns first, so a case variant comes earlier
        table = table.add_column(n, name, pa.array([f"junk{n}", "99"], pa.string()))
    pq.write_table(table, extract / "crimes.parquet")
    with prepare(extract) as p:
        assert p.counts["crimes"].read == 2 and p.counts["crimes"].accepted == 1
        rows = p.con.cursor().sql(
            "select crime_id, cast(recorded_date as varchar), _file, _row from src_crimes"
            " order by _row"
        )
        assert rows.fetchall() == [
            ("C1", "2024-01-01", "crimes.parquet", 1),
            ("C2", "2024-01-02", "crimes.parquet", 2),
        ]
        [(file, row)] = p.con.cursor().sql("select file, row from rejects").fetchall()
        assert (file, row) == ("crimes.parquet", 2)


@pytest.mark.parametrize("folder", ["year=2024", "status=recorded", "crime_id=1"])
@pytest.mark.parametrize("extra", [[], ["file_row_number"]])
def test_a_partition_folder_name_is_never_read_as_a_column(
    tmp_path: Path, folder: str, extra: list[str]
) -> None:
    """A table as a folder of hive-style partitions (as `chi generate` writes it): the folder
    name is no column, so it can neither overwrite a contract column (``status=recorded``
    would score a lost crime as recorded) nor shift the row numbers."""
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-01-01"), crime("C2", "2024-01-02", status="lost")],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    table = pq.read_table(extract / "crimes.parquet")
    for name in extra:
        table = table.append_column(name, pa.array(["junk", "99"], pa.string()))
    (extract / "crimes.parquet").unlink()
    (extract / "crimes" / folder).mkdir(parents=True)
    pq.write_table(table, extract / "crimes" / folder / "part-0.parquet")
    with prepare(extract) as p:
        assert p.counts["crimes"].read == 2 and p.counts["crimes"].accepted == 1
        rows = p.con.cursor().sql("select crime_id, status, _row from src_crimes order by _row")
        assert rows.fetchall() == [("C1", "recorded", 1), ("C2", "lost", 2)]
        [(reason,)] = p.con.cursor().sql("select reason from rejects").fetchall()
        assert "allowed" in reason


def test_a_page_that_fails_its_checksum_is_refused_by_name(tmp_path: Path) -> None:
    """A file written with page checksums whose data page was damaged (it may still decode
    to wrong values) is refused, naming the file, rather than read."""
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i}", "2024-01-01") for i in range(2000)],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    path = extract / "crimes.parquet"
    pq.write_table(
        pq.read_table(path),
        path,
        write_page_checksum=True,
        compression="none",
        use_dictionary=False,
    )
    data = path.read_bytes()
    assert data.count(b"C1500") == 1
    path.write_bytes(data.replace(b"C1500", b"C9999"))  # still decodes, to a wrong value
    runner = CliRunner()
    line = _one_line_error(runner.invoke(app, ["validate", str(extract)]))
    assert "crimes.parquet" in line and "damaged" in line


@pytest.mark.parametrize(
    ("checksums", "dictionary", "compression"),
    [
        (False, True, "snappy"),
        (False, False, "none"),
        (True, True, "snappy"),
        (True, False, "zstd"),
    ],
)
def test_files_with_page_checksums_are_found_by_their_page_headers(
    tmp_path: Path, checksums: bool, dictionary: bool, compression: str
) -> None:
    """Only a file written with page checksums is decoded by Arrow when the extract is
    located (every page verified); the others are decoded once, by validation's read."""
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime(f"C{i}", "2024-01-01") for i in range(3000)],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    path = extract / "crimes.parquet"
    pq.write_table(
        pq.read_table(path),
        path,
        row_group_size=1000,
        write_page_checksum=checksums,
        use_dictionary=dictionary,
        compression=compression,
    )
    assert pq.read_metadata(path).num_row_groups == 3
    md = pq.read_metadata(path)
    assert read_module._has_page_checksums(path, md, TABLES["crimes"]) is checksums


def test_a_page_header_that_does_not_parse_counts_as_checksummed() -> None:
    assert read_module._page_header_has_crc(b"") is True
    assert read_module._page_header_has_crc(b"\x00\x01") is True
    # type 0 (data page), sizes 4 and 2, then field 5 (the data page header, a struct)
    assert (
        read_module._page_header_has_crc(bytes([0x15, 0x00, 0x15, 0x08, 0x15, 0x04, 0x2C])) is False
    )
    # the same sizes, then field 4 (crc, an i32)
    assert (
        read_module._page_header_has_crc(bytes([0x15, 0x00, 0x15, 0x08, 0x15, 0x04, 0x15, 0x02]))
        is True
    )


# --- (9) one error boundary for the command line -----------------------------------------


def test_a_full_disk_while_publishing_is_one_line_and_publishes_nothing(
    small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"

    def full(table: pa.Table, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("chi.scoring.runs._write", full)
    line = _one_line_error(
        runner.invoke(app, ["score", str(small_extract), "--out", str(runs), "--partial"])
    )
    assert "the disk is full" in line and "victim_list.parquet" in line
    assert list_runs(runs) == [] and latest_run_id(runs) is None
    assert not [c for c in runs.iterdir() if c.name.startswith(INCOMING)]


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(out: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(out))

    monkeypatch.setattr("chi.generate.prepare_folder", read_only)
    out = tmp_path / "x"
    line = _one_line_error(runner.invoke(app, ["generate", str(out), "--months", "1"]))
    assert line == f"chi: {out}: the file system is read-only; choose a folder that can be written"


def test_generating_under_a_file_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    args = ["generate", str(a_file / "x"), "--months", "1", "--scale", "0.05"]
    line = _one_line_error(runner.invoke(app, args))
    assert "a-file" in line and "is a file, not a folder" in line
    done = subprocess.run(
        [sys.executable, "-m", "chi", "--debug", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "NotADirectoryError" in done.stderr


def test_engine_errors_do_not_repeat_data_values(
    small_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    def boom(*args: object, **kwargs: object) -> None:
        raise duckdb.ConversionException("Could not convert string 'Alice Example' to INT32")

    monkeypatch.setattr("chi.scoring.prepare.validate", boom)
    line = _one_line_error(runner.invoke(app, ["validate", str(small_extract)]))
    assert "Alice" not in line and "ConversionException" in line and "--debug" in line

    def arrow(*args: object, **kwargs: object) -> None:  # a ValueError, from Arrow
        raise pa.ArrowInvalid("Could not convert 'Alice Example' with type str")

    monkeypatch.setattr("chi.scoring.prepare.validate", arrow)
    line = _one_line_error(runner.invoke(app, ["validate", str(small_extract)]))
    assert "Alice" not in line and "ArrowInvalid" in line


def _decisions_csv(path: Path) -> Path:
    path.write_text(
        "person_id,list_month,area,meeting_date,decision,service,owner,notes,review_date\n"
        "P1,2024-11,North,2024-12-05,referral,MARAC,DS Lee,,2025-01-05\n"
        "P2,2024-11,North,2024-12-05,no_further_action,,,,\n",
        encoding="utf-8",
    )
    return path


def test_decision_store_faults_are_one_line_and_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    csv = _decisions_csv(tmp_path / "meetings.csv")
    line = _one_line_error(runner.invoke(app, ["decisions", "import", "missing.csv"]))
    assert "missing.csv: no such file" in line
    assert not (tmp_path / "state.sqlite").exists()

    folder = tmp_path / "a-folder"
    folder.mkdir()
    line = _one_line_error(
        runner.invoke(app, ["decisions", "import", str(csv), "--store", str(folder)])
    )
    assert "is a folder" in line

    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("these are my notes\n" * 100)
    line = _one_line_error(
        runner.invoke(app, ["decisions", "import", str(csv), "--store", str(not_sqlite)])
    )
    assert "not a usable chi state store (file is not a database)" in line
    assert not_sqlite.read_text() == "these are my notes\n" * 100

    under_missing = tmp_path / "nope" / "state.sqlite"
    line = _one_line_error(
        runner.invoke(app, ["decisions", "import", str(csv), "--store", str(under_missing)])
    )
    assert "no such folder" in line
    assert not (tmp_path / "nope").exists()


# --- (10) concurrent decision imports ----------------------------------------------------

_IMPORTER = """
import sys, time
from pathlib import Path
from chi.meetings.importing import import_decisions
from chi.state.store import Store
csv, state, go, ready = map(Path, sys.argv[1:5])
store = Store(state)
ready.touch()
while not go.exists():
    time.sleep(0.001)
r = import_decisions(store, csv, "test")
print(r.imported, r.unchanged)
"""


def test_imports_of_one_file_at_once_store_each_decision_once(tmp_path: Path) -> None:
    from chi.meetings.decisions import latest
    from chi.state.store import Store

    csv = _decisions_csv(tmp_path / "meetings.csv")
    state = tmp_path / "state.sqlite"
    Store(state)
    script = tmp_path / "importer.py"
    script.write_text(_IMPORTER)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(csv), str(state), str(go), str(tmp_path / f"r{n}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"r{n}").exists() for n in range(4)):
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline
        time.sleep(0.02)
    go.touch()
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        counts.append(tuple(int(x) for x in out.split()))
    assert sorted(counts) == [(0, 2), (0, 2), (0, 2), (2, 0)]
    store = Store(state)
    with store.connection() as con:
        [(n,)] = con.execute("select count(*) from decisions").fetchall()
    assert n == 2
    assert sorted(latest(store, "victim")["person_id"].to_list()) == ["P1", "P2"]


def test_a_latin1_decisions_file_is_refused_not_stored_with_replacements(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "meetings.csv"
    csv.write_bytes(
        "person_id,list_month,area,meeting_date,decision,service,owner,notes,review_date\n"
        "P1,2024-11,North,2024-12-05,referral,MARAC,DS Zoë Léa,,2025-01-05\n".encode("latin-1")
    )
    state = tmp_path / "state.sqlite"
    line = _one_line_error(
        runner.invoke(app, ["decisions", "import", str(csv), "--store", str(state)])
    )
    assert "line 2 is not UTF-8" in line and "CSV UTF-8" in line
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes().decode("latin-1").encode("utf-8"))
    done = runner.invoke(app, ["decisions", "import", str(bom), "--store", str(state)])
    assert done.exit_code == 0, done.output
    assert "imported 1" in done.output
    from chi.meetings.decisions import latest
    from chi.state.store import Store

    assert latest(Store(state), "victim")["owner"].to_list() == ["DS Zoë Léa"]


# --- (11) the smaller cases ------------------------------------------------------------------


def test_year_0001_and_9999_dates_are_rejected_rows(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[
            crime("C1", "2024-01-01"),
            crime("C2", "0001-01-01"),
            crime("C3", "9999-12-31", occurred="2024-01-01"),
        ],
        persons=[person("P"), person("Q", birth_date=date(1, 1, 1))],
        victims=[victim("C1", "P"), victim("C2", "P"), victim("C1", "Q")],
        as_of="2024-01-31",
    )
    done = runner.invoke(app, ["score", str(extract), "--out", str(tmp_path / "runs"), "--partial"])
    assert done.exit_code == 0, done.output
    m = open_run(Path(done.output.strip().splitlines()[-1])).manifest.to_dict()
    assert m["months"] == ["2024-01"]
    assert m["counts"]["crimes"] == {"read": 3, "accepted": 1, "rejected": 2}
    assert m["counts"]["persons"] == {"read": 2, "accepted": 1, "rejected": 1}
    rejects = pq.read_table(Path(done.output.strip().splitlines()[-1]) / "rejects.parquet")
    reasons = {(r["key"], r["column"], r["reason"]) for r in rejects.to_pylist()}
    assert ("C2", "recorded_date", "before 1900-01-01") in reasons
    assert ("C3", "recorded_date", "after the extract as-of date") in reasons
    assert ("Q", "birth_date", "before 1900-01-01") in reasons


def test_extract_json_deeply_nested_or_with_a_bom(small_extract: Path) -> None:
    meta = small_extract / "extract.json"
    meta.write_text("[" * 100_000 + "]" * 100_000)
    line = _one_line_error(runner.invoke(app, ["validate", str(small_extract)]))
    assert "extract.json: not valid JSON" in line
    meta.write_bytes(b"\xef\xbb\xbf" + b'{"force": "Test", "as_of": "2024-05-31"}')
    done = runner.invoke(app, ["validate", str(small_extract)])
    assert done.exit_code == 0, done.output
    assert "(as of 2024-05-31)" in done.output
    for bad in ('{"as_of": "0001-01-01"}', '{"as_of": 20240531}', '{"as_of": "2024-5-1"}'):
        meta.write_text(bad)
        assert "is not a YYYY-MM-DD date" in _one_line_error(
            runner.invoke(app, ["validate", str(small_extract)])
        )


def test_without_extract_json_a_typo_future_date_does_not_become_as_of(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[
            crime("C1", "2024-03-01"),
            crime("C2", "2099-03-01", occurred="2024-03-01"),
            crime("C3", "2024-03-31"),
        ],
        persons=[person("P")],
        victims=[victim("C1", "P"), victim("C2", "P"), victim("C3", "P")],
        as_of=None,
    )
    (extract / "extract.json").unlink(missing_ok=True)
    run = score_and_publish(extract, tmp_path / "runs", Policy())
    m = open_run(run).manifest.to_dict()
    assert m["extract"]["as_of"] == "2024-03-31"
    assert m["months"] == ["2024-03"]
    assert m["counts"]["crimes"] == {"read": 3, "accepted": 2, "rejected": 1}


def test_validate_escapes_control_characters_of_unmatched_codes(tmp_path: Path) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-01-01", offence_code="\x1b[2J\x1b[31mX\rY")],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    done = runner.invoke(app, ["validate", str(extract)])
    assert done.exit_code == 0, done.output
    assert "\x1b" not in done.output and "\r" not in done.output
    assert "\\x1b[2J\\x1b[31mX\\x0dY" in done.output


@pytest.mark.parametrize("blank", ["\t", " \t\n", "\u00a0", "\u2003", "\x00"])
def test_a_blank_key_of_any_whitespace_is_missing(tmp_path: Path, blank: str) -> None:
    extract = write_extract(
        tmp_path / "extract",
        crimes=[crime("C1", "2024-01-01"), crime(blank, "2024-01-02")],
        persons=[person("P")],
        victims=[victim("C1", "P")],
    )
    with prepare(extract) as p:
        assert p.counts["crimes"].accepted == 1
        rows = p.con.cursor().sql(
            "select column_name, reason, row from rejects where table_name = 'crimes'"
        )
        assert rows.fetchall() == [("crime_id", "missing value", 2)]


def test_chi_errors_a_command_does_not_catch_still_read_as_one_line(tmp_path: Path) -> None:
    config = tmp_path / "chi.toml"
    config.write_text('[app]\nstate_path = "missing/state.sqlite"\n', encoding="utf-8")
    line = _one_line_error(
        runner.invoke(app, ["users", "add", "x", "--role", "analyst", "--config", str(config)])
    )
    assert "no such folder for the state store" in line
    assert not (tmp_path / "missing").exists()


def test_the_machine_zone_changes_no_list_file(tmp_path: Path) -> None:
    """The same extract scored on machines in three zones gives byte-identical lists."""
    extract = _tz_extract(tmp_path / "extract")
    ExtractMeta(force="Test", as_of=date(2024, 8, 31)).dump(extract)
    outputs = []
    for zone in ("UTC", "Europe/London", "Pacific/Kiritimati"):
        runs = tmp_path / f"runs-{zone.replace('/', '-')}"
        done = subprocess.run(
            [sys.executable, "-m", "chi", "score", str(extract), "--out", str(runs), "--partial"],
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": zone},
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(Path(done.stdout.strip().splitlines()[-1]))
    for name in ("victim_list", "victim_exits", "offender_list", "dyads", "rejects"):
        assert len({(o / f"{name}.parquet").read_bytes() for o in outputs}) == 1, name
    assert open_run(outputs[0]).manifest.counts["crimes"]["rejected"] == 0


@pytest.mark.parametrize(
    "body",
    ["[1, 2]", '{"run_id": "r1"}', '{"run_id": 5, "months": "2024-01"}', "[" * 50_000, ""],
)
def test_a_manifest_that_is_not_a_chi_manifest_is_one_line(tmp_path: Path, body: str) -> None:
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(body, encoding="utf-8")
    for args in (
        ["diff", str(run), str(run)],
        ["export", str(run), "--month", "2024-01"],
        ["rerun", str(run)],
        ["backtest", str(run)],
    ):
        line = _one_line_error(runner.invoke(app, args))
        assert "manifest" in line, args
    done = runner.invoke(app, ["runs", str(tmp_path / "runs")])
    assert done.exit_code == 0 and "no runs yet" in done.output


def test_an_extract_a_crash_cut_short_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chi.generate as gen
    from chi.generate.write import write_parquet as real

    def full_disk(table: pa.Table, path: Path) -> None:
        if path.name == "suspects.parquet":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(table, path)

    monkeypatch.setattr(gen, "write_parquet", full_disk)
    out = tmp_path / "x"
    line = _one_line_error(
        runner.invoke(app, ["generate", str(out), "--months", "1", "--scale", "0.05"])
    )
    assert "the disk is full" in line and "suspects.parquet" in line
    assert (out / "crimes").is_dir() and (out / "persons.parquet").is_file()
    pq.write_table(  # even with every table there, the extract is not trusted
        pa.Table.from_pylist([], schema=arrow_schema(TABLES["suspects"])),
        out / "suspects.parquet",
    )
    line = _one_line_error(runner.invoke(app, ["validate", str(out)]))
    assert "incomplete (chi generate did not finish" in line
    monkeypatch.setattr(gen, "write_parquet", real)
    done = runner.invoke(app, ["generate", str(out), "--months", "1", "--scale", "0.05"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


@pytest.mark.parametrize("months", ["0001-01:9999-12", "2024-01:9999-12", "1899-12", "2024-13"])
def test_months_outside_any_extract_are_one_line(small_extract: Path, months: str) -> None:
    out = str(small_extract.parent / "runs")
    line = _one_line_error(
        runner.invoke(app, ["score", str(small_extract), "--out", out, "--months", months])
    )
    assert months.split(":")[0] in line or "is not YYYY-MM" in line


def test_rerun_of_a_run_made_before_the_manifest_covered_extract_json(
    small_extract: Path, tmp_path: Path
) -> None:
    """An older manifest has no checksum of extract.json: the rerun still uses the run's
    as-of date, and refuses an extract.json that now says another one."""
    run = score_and_publish(small_extract, tmp_path / "runs", Policy())
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["extract"]["metadata"], manifest["extract"]["as_of_source"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    (small_extract / "extract.json").unlink()  # as-of would now be 2024-05-04
    done = runner.invoke(app, ["rerun", str(run)])
    assert done.exit_code == 0, done.output
    second = Path(done.output.strip().splitlines()[-1])
    assert open_run(second).manifest.extract.as_of == "2024-05-31"
    assert open_run(second).manifest.extract.as_of_source == "given"
    for name in ("victim_list", "victim_exits", "offender_list", "dyads", "rejects"):
        assert (run / f"{name}.parquet").read_bytes() == (second / f"{name}.parquet").read_bytes()
    ExtractMeta(as_of=date(2024, 4, 30)).dump(small_extract)
    line = _one_line_error(runner.invoke(app, ["rerun", str(run)]))
    assert "extract.json as_of is 2024-04-30, the run used 2024-05-31" in line


def _without_staged(run: Run) -> Run:
    """The run as published before runs kept their staged tables (chi.scoring.staged)."""
    return Run(run.path, dataclasses.replace(run.manifest, staged=None))


def test_backtest_history_uses_the_run_as_of_and_refuses_a_changed_extract_json(
    small_extract: Path, tmp_path: Path
) -> None:
    """The sibling of rerun: the history behind a run (backtest, model) is read with the
    run's as-of date; from its staged tables, so a later extract.json changes nothing; from
    the extract for a run without them, refused when extract.json changed since."""
    from chi.forecast.history import run_history

    run = open_run(score_and_publish(small_extract, tmp_path / "runs", Policy()))
    assert run_history(run).as_of == date(2024, 5, 31)
    assert run_history(_without_staged(run)).as_of == date(2024, 5, 31)
    ExtractMeta(force="Test", as_of=date(2024, 4, 30)).dump(small_extract)
    assert run_history(run).as_of == date(2024, 5, 31)
    with pytest.raises(RunError, match=r"extract\.json changed"):
        run_history(_without_staged(run))


def test_the_analyses_of_a_run_use_its_as_of_and_refuse_a_changed_extract_json(
    small_extract: Path, tmp_path: Path
) -> None:
    from chi.analysis.source import load_run

    run = open_run(score_and_publish(small_extract, tmp_path / "runs", Policy()))
    (small_extract / "extract.json").unlink()
    assert load_run(run).as_of == date(2024, 5, 31)  # the run's staged tables
    with pytest.raises(RunError, match=r"extract\.json was removed"):
        load_run(_without_staged(run))
    ExtractMeta(force="Test", as_of=date(2024, 5, 31)).dump(small_extract)
    assert load_run(_without_staged(run)).as_of == date(2024, 5, 31)
