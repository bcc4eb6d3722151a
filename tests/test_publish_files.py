"""Every file a run publishes is byte for byte the file publishing gave before it wrote the
files while querying the next tables and stopped re-sorting the victimisations (issue 15).

The reference is publishing as it was: each table from its original statement (kept here
as it was in ``sql/``), every table written one by one with ``pq.write_table(...,
compression="zstd")``. The run is published by the current code from the same prepared
extract and lists, and every Parquet file of its manifest is compared with its reference
file, byte for byte.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chi.scoring.policy import Policy
from chi.scoring.prepare import Prepared, prepare
from chi.scoring.runs import INCOMING, LIST_FILES, RunError, list_runs, open_run, publish
from chi.scoring.score import Lists, complete_months, score, score_tables
from chi.scoring.staged import truth_path

# The statements of the run's tables as they were before this work.
REFERENCE = {
    "rejects": """
        select table_name as "table", key, column_name as "column", reason, value, file, row
        from rejects
        order by table_name, file, row, column_name, reason
    """,
    "people": """
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
    """,
    "victimisations": """
        select v.crime_id, v.person_id, v.recorded_date, v.occurred_date, v.month,
               v.offence_code, v.ho_class, w.title as offence_title, v.weight, v.basis,
               v.weight_rule, v.domestic_abuse, v.da_relationship, v.dash_risk,
               v.crime_neighbourhood_code, v.historic, v.counted,
               exists (select 1 from suspects as s where s.crime_id = v.crime_id) as has_suspect
        from victimisations as v
        left join ref_weights as w on v.offence_code = w.offence_key
        order by v.recorded_date, v.crime_id, v.person_id
    """,
    "staged_crimes": "select * from crimes order by crime_id",
    "staged_persons": """
        select person_id, person_type, sex, birth_date, ethnicity, home_lsoa_code, deceased_date
        from persons
        order by person_id
    """,
    "staged_victims": """
        select crime_id, person_id, dash_risk from victims order by crime_id, person_id, dash_risk
    """,
    "staged_suspects": """
        select crime_id, person_id, role from suspects order by crime_id, person_id, role
    """,
    "staged_ref_weights": "select * from ref_weights order by all",
    "staged_ref_lsoa": "select * from ref_lsoa order by lsoa_code",
}


def _reference_files(
    p: Prepared, lists: Lists, folder: Path, row_group_size: int | None = None
) -> dict[str, bytes]:
    tables: dict[str, pa.Table] = {name: getattr(lists, name) for name in LIST_FILES}
    for name, query in REFERENCE.items():
        tables[name] = p.con.cursor().sql(query).to_arrow_table()
    truth = truth_path(p.extract.folder)
    if truth.is_file():
        tables["staged_duplicates_truth"] = pq.read_table(truth)
    folder.mkdir()
    out = {}
    for name, table in tables.items():
        path = folder / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd", row_group_size=row_group_size)
        out[name] = path.read_bytes()
    return out


def _assert_files_as_before(
    extract: Path, policy: Policy, tmp_path: Path, row_group_size: int | None = None
) -> dict[str, int]:
    """Publish the lists as ``chi score`` does (left in DuckDB, each file streamed from its
    query one row group at a time), then compare with the reference (whole Arrow tables)."""
    with prepare(extract, policy=policy) as p:
        run = open_run(publish(p, score_tables(p, complete_months(p)), tmp_path / "runs"))
        lists = score(p, complete_months(p))
        want = _reference_files(p, lists, tmp_path / "reference", row_group_size)
    outputs = run.manifest.outputs
    assert list(outputs) == list(want)  # the same files, in the manifest's order as before
    for name, data in want.items():
        assert run.file(name).read_bytes() == data, f"{name}.parquet differs"
    return {name: int(out["rows"]) for name, out in outputs.items()}


def test_published_files_are_byte_identical_to_publishing_as_before(
    generated_extract: Path, tmp_path: Path
) -> None:
    rows = _assert_files_as_before(generated_extract, Policy(), tmp_path)
    # The comparison means something only if the files have rows (rejects: the extract
    # has defects; the generator's duplicates truth is there too).
    for name in ("rejects", "people", "victimisations", "staged_crimes", "staged_suspects"):
        assert rows[name] > 50, name
    assert "staged_duplicates_truth" in rows


def test_files_written_one_row_group_at_a_time_are_those_of_whole_tables(
    generated_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national table is written one row group at a time (1,048,576 rows, as
    ``pq.write_table``); with row groups of 997 rows every larger file here is cut many times,
    mid-batch, and must still be byte for byte the file written from the whole table."""
    import chi.scoring.runs as runs_module

    monkeypatch.setattr(runs_module, "ROW_GROUP_ROWS", 997)
    rows = _assert_files_as_before(generated_extract, Policy(), tmp_path, row_group_size=997)
    run = open_run(next(p for p in (tmp_path / "runs").iterdir() if p.name[0].isdigit()))
    for name in ("victimisations", "staged_crimes", "victim_list", "people"):
        groups = pq.ParquetFile(run.file(name)).num_row_groups
        assert rows[name] > 3 * 997 and groups == -(-rows[name] // 997), name


def test_the_lists_in_duckdb_and_as_arrow_tables_publish_the_same_files(
    clean_extract: Path, tmp_path: Path
) -> None:
    """``publish`` takes the lists as ``score`` returns them (Arrow) or as ``score_tables``
    leaves them (streamed from DuckDB): the same files either way."""
    with prepare(clean_extract, policy=Policy()) as p:
        months = complete_months(p)
        a = open_run(publish(p, score(p, months), tmp_path / "a"))
        b = open_run(publish(p, score_tables(p, months), tmp_path / "b"))
    assert a.manifest.outputs == b.manifest.outputs


def test_files_as_before_under_another_policy_on_a_clean_extract(
    clean_extract: Path, tmp_path: Path
) -> None:
    rows = _assert_files_as_before(
        clean_extract, Policy(window_months=3, min_crimes=1, class_rule="typical"), tmp_path
    )
    assert rows["rejects"] == 0 and rows["victim_list"] > 100


def test_the_first_failed_file_in_order_is_the_error_and_nothing_is_published(
    clean_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are written by worker threads; whichever fails first in time, the error names
    the first failing file in the run's order, and no run or temporary folder is left."""
    import chi.scoring.runs as runs_module

    real = runs_module._write

    def full_after_lists(table: pa.Table, path: Path) -> dict[str, object]:
        if path.stem in ("victimisations", "staged_crimes", "staged_victims"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(table, path)

    monkeypatch.setattr(runs_module, "_write", full_after_lists)
    runs = tmp_path / "runs"
    with prepare(clean_extract, policy=Policy()) as p:
        lists = score(p, complete_months(p))
        with pytest.raises(OSError) as failed:
            publish(p, lists, runs)
    assert Path(str(failed.value.filename)).name == "victimisations.parquet"
    assert list_runs(runs) == []
    assert not [c for c in runs.iterdir() if c.name.startswith(INCOMING)]


def test_a_weight_set_with_a_repeated_offence_key_is_refused(
    clean_extract: Path, tmp_path: Path
) -> None:
    """The victimisations' looked-up columns are one row per victimisation; a weight set that
    gives an offence key twice would make more, and is refused rather than misaligned."""
    runs = tmp_path / "runs"
    with prepare(clean_extract, policy=Policy()) as p:
        lists = score(p, complete_months(p))
        p.con.cursor().sql(
            """
            insert into ref_weights select * from ref_weights where offence_key = (
                select offence_code from victimisations where offence_code is not null
                group by offence_code order by count(*) desc, offence_code limit 1
            )
            """
        )
        with pytest.raises(RunError, match="offence key more than once"):
            publish(p, lists, runs)
    assert list_runs(runs) == []
    assert not [c for c in runs.iterdir() if c.name.startswith(INCOMING)]


def test_no_more_queries_are_started_than_there_are_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A started query holds DuckDB memory and a row group of Arrow memory outside DuckDB's
    limit: publishing starts the next file's query only when a writer is free, so at most
    one file a writer is in flight (at national scale the staged tables are gigabytes)."""
    import threading

    import chi.scoring.runs as runs

    release = threading.Event()
    started: list[str] = []

    def slow_write(groups: Iterator[pa.Table], path: Path) -> dict[str, object]:
        release.wait(timeout=30)
        return {"rows": sum(g.num_rows for g in groups), "sha256": "x"}

    def source(i: int) -> Callable[[], Iterator[pa.Table]]:
        def start() -> Iterator[pa.Table]:
            started.append(f"t{i}")
            return iter([pa.table({"a": [i]})])

        return start

    monkeypatch.setattr(runs, "_write_synced", slow_write)
    in_flight: list[int] = []
    with runs._Files(tmp_path) as files:
        files.workers = 2
        files.pool._max_workers = 2

        def queue_all() -> None:
            for i in range(6):
                files.write(f"t{i}", source(i))
                in_flight.append(sum(not f.done() for f in files.futures.values()))

        writer = threading.Thread(target=queue_all)
        writer.start()
        writer.join(timeout=1)
        assert writer.is_alive()  # the third file waits for a free writer...
        assert in_flight == [1, 2]
        assert started == ["t0", "t1"]  # ...and its query is not started
        release.set()
        writer.join(timeout=30)
        assert max(in_flight) <= 2 and len(in_flight) == 6
        assert list(files.outputs()) == [f"t{i}" for i in range(6)]
        assert [files.futures[f"t{i}"].result()["rows"] for i in range(6)] == [1] * 6
