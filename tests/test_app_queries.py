"""The scoped queries the app reads through: the scope is in the SQL, restricted offences are
masked in the SQL, the person view refuses anyone not listed in scope, and the DuckDB
connection cannot reach anything but the run's own files."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from app_fixtures import ABBEY, ARBURY, CENTRAL, NORTH, SOUTH, Fixture, shared_fixture

from chi.offences import groups_of
from chi.reading.lists import (
    Scope,
    dyad_list,
    exited,
    offender_list,
    person_detail,
    run_connection,
    victim_briefing,
    victim_list,
)
from chi.scoring.runs import Run, RunError, open_run

MONTH = "2024-12"
SEXUAL = "sexual_offences"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    fixture: Fixture = shared_fixture(tmp_path_factory)
    return open_run(fixture.runs_dir)


def test_victim_briefing_is_the_victim_list_of_the_scope(run: Run) -> None:
    for scope in (Scope.of({ARBURY}), Scope.of({ARBURY, ABBEY}), Scope.of(NORTH), Scope.force()):
        got = victim_briefing(run, MONTH, scope)
        want = victim_list(run, MONTH, scope)
        assert got["person_id"].to_list() == want["person_id"].to_list()
        assert got["rank"].to_list() == want["rank"].to_list()
        if not scope.force_wide:
            assert set(got["neighbourhood_code"]) <= scope.neighbourhoods
    assert victim_briefing(run, MONTH, Scope.of(set())).is_empty()
    assert victim_briefing(run, MONTH, Scope.of({"E05999999"})).is_empty()


def test_lists_of_every_kind_stay_in_scope(run: Run) -> None:
    south = Scope.of(SOUTH)
    for frame in (
        offender_list(run, MONTH, south),
        dyad_list(run, MONTH, south),
        exited(run, MONTH, south),
    ):
        assert not frame.is_empty()
        assert set(frame["neighbourhood_code"]) <= SOUTH
    everyone = offender_list(run, MONTH, Scope.force())
    north = offender_list(run, MONTH, Scope.of(NORTH))
    assert north.height + offender_list(run, MONTH, south).height <= everyone.height


def test_offender_and_dyad_lists_carry_the_analyses(run: Run) -> None:
    off = offender_list(run, MONTH, Scope.force())
    assert {"serial_da", "rfg_score", "da_victims_36m", "name"} <= set(off.columns)
    assert off["serial_da"].any()
    dy = dyad_list(run, MONTH, Scope.force())
    assert dy["harm_days"].to_list() == sorted(dy["harm_days"].to_list(), reverse=True)
    assert {"offender_name", "victim_name", "relationship"} <= set(dy.columns)


def _sexual_rows(run: Run) -> pl.DataFrame:
    v = pl.from_arrow(run.table("victimisations"))
    assert isinstance(v, pl.DataFrame)
    return v.filter(
        pl.struct("offence_code", "ho_class").map_elements(
            lambda r: SEXUAL in groups_of(r["offence_code"], r["ho_class"]),
            return_dtype=pl.Boolean,
        )
    )


def test_restricted_offences_show_only_their_label_when_masked(run: Run) -> None:
    plain = victim_briefing(run, MONTH, Scope.force())
    masked = victim_briefing(run, MONTH, Scope.force(), [SEXUAL])
    titles = set(_sexual_rows(run)["offence_title"].drop_nulls())
    assert titles, "the fixture has sexual offences"
    changed = 0
    for a, b in zip(plain["latest_offence"], masked["latest_offence"], strict=True):
        if a in titles:
            assert b == "sexual offence"
            changed += 1
        else:
            assert a == b
    assert changed > 0
    assert not set(masked["latest_offence"]) & titles


def test_person_view_masks_restricted_offences(run: Run) -> None:
    sexual = _sexual_rows(run).filter(pl.col("month").is_between(pl.lit("2024-01"), pl.lit(MONTH)))
    listed = victim_list(run, MONTH, Scope.force())
    pid = next(p for p in sexual["person_id"] if p in set(listed["person_id"]))
    masked = person_detail(run, pid, MONTH, Scope.force(), [SEXUAL])
    plain = person_detail(run, pid, MONTH, Scope.force())
    assert masked is not None and plain is not None
    titles = set(sexual["offence_title"])
    assert set(plain.victimisations["offence"]) & titles
    assert not set(masked.victimisations["offence"]) & titles
    assert "sexual offence" in set(masked.victimisations["offence"])


def test_person_view_only_for_people_listed_in_scope(run: Run) -> None:
    arbury = victim_list(run, MONTH, Scope.of({ARBURY}))
    central = victim_list(run, MONTH, Scope.of({CENTRAL}))
    pid = arbury["person_id"][0]
    d = person_detail(run, pid, MONTH, Scope.of({ARBURY}))
    assert d is not None and d.neighbourhood_code == ARBURY and d.listed_as == ("victim",)
    assert d.name is not None and d.age is not None
    assert not d.victimisations.is_empty() and not d.listings.is_empty()
    assert d.listings["month"][0] == MONTH
    assert d.monthly["month"].to_list()[-1] == MONTH
    assert person_detail(run, pid, MONTH, Scope.of({CENTRAL})) is None
    assert person_detail(run, central["person_id"][0], MONTH, Scope.of({ARBURY})) is None
    assert person_detail(run, "no such person", MONTH, Scope.force()) is None
    assert person_detail(run, pid, MONTH, Scope.of(set())) is None


def test_offenders_reach_the_person_view_only_when_allowed(run: Run) -> None:
    off = offender_list(run, MONTH, Scope.force())
    victims = set(victim_list(run, MONTH, Scope.force())["person_id"])
    pid = next(p for p in off["person_id"] if p not in victims)
    assert person_detail(run, pid, MONTH, Scope.force()) is None
    d = person_detail(run, pid, MONTH, Scope.force(), offenders=True)
    assert d is not None and d.listed_as == ("offender",) and d.also_suspect


def test_person_view_flags_a_victim_also_recorded_as_a_suspect(run: Run) -> None:
    listed = victim_list(run, MONTH, Scope.force())
    flagged = listed.filter(pl.col("reasons").list.contains("also_suspect"))
    assert not flagged.is_empty()
    d = person_detail(run, flagged["person_id"][0], MONTH, Scope.force())
    assert d is not None and d.also_suspect


def test_the_connection_is_locked_down(run: Run) -> None:
    with run_connection(run) as con:
        assert con.sql("select count(*) from victim_list").fetchall()[0][0] > 0
        other = run.path.parent.parent / "extract" / "persons.parquet"
        assert other.exists()
        for query in (
            f"select * from read_parquet('{other.as_posix()}')",
            "select * from read_csv('/etc/passwd')",
            f"copy victim_list to '{run.path.as_posix()}/leak.csv'",
            "set enable_external_access = true",
            "set lock_configuration = false",
            "install httpfs",
        ):
            with pytest.raises(duckdb.Error):
                con.sql(query).fetchall()
    assert not (run.path / "leak.csv").exists()


def test_a_run_with_a_missing_file_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / run.run_id
    shutil.copytree(run.path, broken)
    (broken / "people.parquet").unlink()
    with pytest.raises(RunError, match=r"people\.parquet is missing"):
        victim_briefing(open_run(broken), MONTH, Scope.force())
