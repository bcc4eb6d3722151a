"""``CHI_MEMORY_LIMIT`` caps DuckDB's memory (issue 15a: a national extract on a smaller
machine): under a small cap the work spills to a private folder (removed afterwards) and
the lists are the same; a cap chi cannot read is one line naming the variable."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import chi.scoring.prepare as prepare_module
from chi.cli import app
from chi.scoring.policy import Policy
from chi.scoring.prepare import MEMORY_ENV, connect, memory_bytes, memory_limit, prepare
from chi.scoring.score import (
    SIDE_BY_SIDE_BELOW,
    SIDE_BY_SIDE_BYTES,
    complete_months,
    list_workers,
    score,
)

LISTS = ("victim_list", "victim_exits", "offender_list", "dyads", "victim_sizing")


def _lists(extract: Path) -> tuple[dict[str, pa.Table], str, list[str]]:
    with prepare(extract, policy=Policy()) as p:
        [(limit, spill)] = (
            p.con.cursor()
            .sql("select current_setting('memory_limit'), current_setting('temp_directory')")
            .fetchall()
        )
        lists = score(p, complete_months(p))
        spilled = [f.name for f in Path(spill).iterdir()] if Path(spill).exists() else []
    assert not Path(spill).exists(), "the spill folder is removed when the connection closes"
    assert Path(spill).parent == Path(tempfile.gettempdir())
    return {name: getattr(lists, name) for name in LISTS}, str(limit), spilled


def test_a_small_memory_cap_gives_the_same_lists(
    generated_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    free, default_limit, _ = _lists(generated_extract)
    monkeypatch.setenv(MEMORY_ENV, "150MB")
    with prepare(generated_extract, policy=Policy()) as p:
        # 150 MB for 138k victim rows: too little for two list statements at once (they ran
        # out of memory side by side now and then, on a busy machine), so one at a time
        assert p.memory_cap == 150_000_000
        assert 0 < p.counts["victims"].accepted < SIDE_BY_SIDE_BELOW
        assert list_workers(p) == 1
    capped, limit, _ = _lists(generated_extract)
    assert limit != default_limit
    assert limit == "143.0 MiB"
    for name in LISTS:
        assert capped[name].num_rows > 0, name
        assert capped[name].equals(free[name]), name


@pytest.mark.parametrize("value", ["lots", "12", "12 parsecs", "-1GB"])
def test_an_unreadable_cap_is_one_line(
    value: str, generated_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_ENV, value)
    result = CliRunner().invoke(app, ["score", str(generated_extract), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"chi: {MEMORY_ENV}={value!r} is not an amount of memory; write it like 12GB or 800MiB"
    ]
    assert not list(tmp_path.iterdir())


def test_without_a_setting_duckdb_gets_half_the_machines_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DuckDB's own default (80% of the machine) leaves too little for the rest of a national
    run; unset, the cap is half the physical memory, in whole MiB."""
    import os

    monkeypatch.delenv(MEMORY_ENV, raising=False)
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert memory_limit() == f"{total // 2 // 2**20}MiB"
    con = connect(Path(tempfile.mkdtemp()))
    try:
        [(limit,)] = con.sql("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    mib = float(str(limit).split()[0]) * (1024 if "GiB" in str(limit) else 1)
    assert abs(mib - total / 2 / 2**20) < 0.01 * total / 2 / 2**20, limit  # shown rounded
    monkeypatch.setenv(MEMORY_ENV, "3GB")
    assert memory_limit() == "3GB"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("150MB", 150_000_000),
        ("800MiB", 800 * 2**20),
        ("1.5 gb", 1_500_000_000),
        ("12GB", 12_000_000_000),
        ("2TiB", 2 * 2**40),
        (None, None),
    ],
)
def test_a_cap_in_bytes_as_duckdb_reads_it(value: str | None, expected: int | None) -> None:
    assert memory_bytes(value) == expected


def test_the_lists_run_side_by_side_only_when_the_cap_holds_two(
    generated_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    with prepare(generated_extract, policy=Policy()) as p:
        rows = p.counts["victims"].accepted
        assert list_workers(p) == 2  # half of this machine's memory holds two
        p.memory_cap = SIDE_BY_SIDE_BYTES * rows
        assert list_workers(p) == 2
        p.memory_cap = SIDE_BY_SIDE_BYTES * rows - 1
        assert list_workers(p) == 1
        p.memory_cap = None  # DuckDB's own default: not known here, as before
        assert list_workers(p) == 2


@pytest.mark.parametrize("cap", ["1MB", "20MB"])
def test_running_out_of_memory_is_one_line_naming_the_cap(
    cap: str, generated_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a cap too small to read the extract, the one line says so and what to do (not
    that a file is damaged, nor that the geography file is not CSV, as it did)."""
    monkeypatch.setenv(MEMORY_ENV, cap)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["score", str(generated_extract), "--out", str(runs)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    spill = re.escape(tempfile.gettempdir())
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf"chi: DuckDB ran out of memory under its cap \({MEMORY_ENV}={cap}\) with "
        rf"[0-9]+\.[0-9] (MiB|GiB) free to spill to in {spill}; set {MEMORY_ENV} higher "
        r"\(12GB, say\), free disk space there \(or set TMPDIR to a larger disk\), or score "
        r"fewer months at once",
        lines[0],
    ), lines[0]
    left = sorted(p.name for p in runs.iterdir()) if runs.exists() else []
    assert all(name.startswith(".") for name in left), left  # no run, no pointer


@pytest.mark.parametrize(
    "error",
    [duckdb.OutOfMemoryException("cap reached"), duckdb.InterruptException("interrupted")],
)
def test_memory_and_ctrl_c_are_not_blamed_on_the_files(
    error: duckdb.Error, generated_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of memory or Ctrl-C while the extract is read: passed on as they are, without
    reading every file again to look for a damaged one (minutes on a national extract)."""
    looked: list[object] = []

    def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(prepare_module, "_stage", failing)
    monkeypatch.setattr(prepare_module, "refuse_damaged", looked.append)
    with pytest.raises(type(error)), prepare(generated_extract, policy=Policy()):
        pass
    assert looked == []
    error = duckdb.IOException("unreadable")
    with pytest.raises(duckdb.IOException), prepare(generated_extract, policy=Policy()):
        pass
    assert len(looked) == 1  # any other DuckDB error still looks for a damaged file
