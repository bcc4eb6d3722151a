"""``CHI_MEMORY_LIMIT`` caps DuckDB's memory (issue 15a: a national extract on a smaller
machine): under a small cap the work spills to a private folder (removed afterwards) and
the lists are the same; a cap chi cannot read is one line naming the variable."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.policy import Policy
from chi.scoring.prepare import MEMORY_ENV, connect, memory_limit, prepare
from chi.scoring.score import complete_months, score

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
