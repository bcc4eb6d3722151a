"""A run's staged tables: the analyses and the backtest read them instead of the extract.

The figures must be the same as from the extract (the old path, kept for runs published
before the staged tables), the files must be covered by the manifest's checksums, and the
analyses must no longer depend on the extract once the run is published.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chi.analysis.profile import Request, build_profile
from chi.analysis.report import render_json
from chi.analysis.source import Source, load_extract, load_run
from chi.forecast.history import History, load_history, run_history
from chi.generate import GenerateOptions, generate_extract
from chi.reading.lists import Scope, area_scope
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, RunError, open_run, score_and_publish
from chi.scoring.staged import STAGED_TABLES, file_name, has_staged

# Small, with defects (so rejected rows are left out of the staged tables) and a DA history.
OPTIONS = GenerateOptions(seed=5, start="2023-01", months=18, scale=0.05)
FRAMES = ("crimes", "victimisations", "suspects", "da_links")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("staged") / "extract"
    generate_extract(out, OPTIONS)
    return out


@pytest.fixture(scope="module")
def run(extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    runs = tmp_path_factory.mktemp("staged_runs") / "runs"
    return open_run(score_and_publish(extract, runs, Policy()))


def _from_extract(run: Run, extract: Path) -> Source:
    m = run.manifest
    return load_extract(
        extract,
        Policy.from_manifest(m.policy),
        m.weights.name,
        expected_files=list(m.extract.files),
        run_id=run.run_id,
        as_of=m.extract.as_of_date,
    )


def _assert_sources_equal(a: Source, b: Source) -> None:
    for name in FRAMES:
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
        assert getattr(a, name).height > 0, name
    assert a.duplicates_truth is not None and b.duplicates_truth is not None
    assert_frame_equal(a.duplicates_truth, b.duplicates_truth, check_exact=True)
    assert (a.as_of, a.force, a.run_id, a.policy, a.weights) == (
        b.as_of,
        b.force,
        b.run_id,
        b.policy,
        b.weights,
    )


def test_the_run_carries_its_staged_tables_with_checksums(run: Run) -> None:
    assert has_staged(run)
    m = run.manifest
    assert (m.staged or {})["synthetic"] is True
    names = [file_name(t) for t in STAGED_TABLES] + [file_name("duplicates_truth")]
    assert sorted((m.staged or {})["tables"]) == sorted(names)
    for name in names:
        assert run.file(name).is_file()
        assert m.outputs[name]["rows"] == pl.read_parquet(run.file(name)).height
    persons = pl.read_parquet(run.file("staged_persons"))
    assert "name" not in persons.columns  # no names leave the extract through the staging
    crimes = pl.read_parquet(run.file("staged_crimes"))
    assert str(crimes.schema["weight"]) == "Decimal(precision=18, scale=2)"
    # only accepted rows: the staged crimes are the manifest's accepted crimes
    assert crimes.height == m.counts["crimes"]["accepted"]
    assert persons.height == m.counts["persons"]["accepted"]


def test_the_profile_from_staged_tables_equals_the_profile_from_the_extract(
    run: Run, extract: Path
) -> None:
    staged = load_run(run)
    old = _from_extract(run, extract)
    _assert_sources_equal(staged, old)
    for scope in (Scope.force(), area_scope("North")):
        request = Request.for_period("2024-01:2024-06", scope)
        a = json.loads(render_json(build_profile(staged, request)))
        b = json.loads(render_json(build_profile(old, request)))
        assert a == b
        assert a["meta"]["synthetic"] is True
        assert a["meta"]["da_crimes"] > 0


def _assert_histories_equal(a: History, b: History, same_path: bool = True) -> None:
    for name in ("victimisations", "suspect_events", "da_links", "persons"):
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
        assert getattr(a, name).height > 0, name
    assert (a.first_month, a.as_of, a.policy, a.force, a.synthetic) == (
        b.first_month,
        b.as_of,
        b.policy,
        b.force,
        b.synthetic,
    )
    assert (a.extract_path == b.extract_path) is same_path


def test_the_backtest_history_from_staged_tables_equals_the_one_from_the_extract(
    run: Run, extract: Path
) -> None:
    staged = run_history(run)
    old = load_history(extract, Policy.from_manifest(run.manifest.policy))
    assert staged.as_of == old.as_of  # the generator writes extract.json's as-of date
    _assert_histories_equal(staged, old)


def test_the_analyses_of_a_run_no_longer_need_its_extract(
    run: Run, extract: Path, tmp_path: Path
) -> None:
    """Once published, the run alone gives its figures: a changed or removed extract does
    not change them (the figures belong to the run, not to whatever the folder holds now)."""
    copy = tmp_path / "runs" / run.path.name
    shutil.copytree(run.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["extract"]["path"] = str(tmp_path / "gone")
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    moved = open_run(copy)
    request = Request.for_period("2024-01:2024-06", Scope.force())
    a = json.loads(render_json(build_profile(load_run(moved), request)))
    b = json.loads(render_json(build_profile(load_run(run), request)))
    assert a == b
    moved_history = run_history(moved)
    _assert_histories_equal(moved_history, run_history(run), same_path=False)
    assert moved_history.synthetic  # recorded in the run, not read from the extract


def test_a_changed_staged_file_is_refused(run: Run, tmp_path: Path) -> None:
    copy = tmp_path / run.path.name
    shutil.copytree(run.path, copy)
    victims = pl.read_parquet(copy / "staged_victims.parquet")
    victims.head(victims.height - 1).write_parquet(copy / "staged_victims.parquet")
    tampered = open_run(copy)
    with pytest.raises(RunError, match=r"staged_victims\.parquet does not match"):
        load_run(tampered)
    with pytest.raises(RunError, match=r"staged_victims\.parquet does not match"):
        run_history(tampered)
    (copy / "staged_victims.parquet").unlink()
    with pytest.raises(RunError, match=r"staged_victims\.parquet is missing"):
        load_run(open_run(copy))


def test_a_run_without_staged_tables_falls_back_to_its_extract(
    run: Run, extract: Path, tmp_path: Path
) -> None:
    """Runs published before the staged tables: read from the extract, as before."""
    copy = tmp_path / run.path.name
    shutil.copytree(run.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest.pop("staged")["tables"]:
        del manifest["outputs"][name]
        (copy / f"{name}.parquet").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = open_run(copy)
    assert not has_staged(old)
    _assert_sources_equal(load_run(old), load_run(run))
    _assert_histories_equal(run_history(old), run_history(run))


def test_staged_files_are_reproducible(run: Run, extract: Path, tmp_path: Path) -> None:
    again = open_run(score_and_publish(extract, tmp_path / "runs", Policy()))
    for name in (run.manifest.staged or {})["tables"]:
        assert again.manifest.outputs[name] == run.manifest.outputs[name], name


def test_the_staged_tables_keep_the_runs_own_policy(extract: Path, tmp_path: Path) -> None:
    """Another policy (historic crimes not counted, the typical class-level weight, a
    six-month window): the staged path gives what the extract gives under that policy, and
    not what it gives under the default one."""
    policy = Policy(historic_months=12, historic_counted=False, class_rule="typical",
                    window_months=6)  # fmt: skip
    other = open_run(score_and_publish(extract, tmp_path / "runs", policy))
    staged = load_run(other)
    assert staged.policy == policy
    _assert_sources_equal(staged, _from_extract(other, extract))
    default = load_extract(extract, Policy(), as_of=staged.as_of)
    assert not default.crimes.equals(staged.crimes)  # the policy changed what is counted
    old = load_history(extract, policy)
    _assert_histories_equal(run_history(other), old)
