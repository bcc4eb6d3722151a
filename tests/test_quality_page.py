"""The data quality page (AppTest) on a generated extract with defects: rejections grouped
by check (not by offending value), the weight bases explained, and an audited download of
the rejected rows for the records team."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import AppEnv, Fixture, app_test, goto, make_app_env, table

from chi.exports.downloads import DownloadGate
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish
from chi.state.store import Store


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    root = tmp_path_factory.mktemp("quality")
    extract = root / "extract"
    generate_extract(extract, GenerateOptions(seed=3, start="2024-01", months=6, scale=0.05))
    run = open_run(score_and_publish(extract, root / "runs", Policy(), "2024-06"))
    fixture = Fixture(extract, root / "runs", run.run_id, run.manifest.months)
    app_env = make_app_env(root / "app", fixture)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


def test_rejections_are_grouped_by_check(env: AppEnv) -> None:
    at = goto(app_test(env, "analyst").run(), "quality")
    assert not at.exception
    rejects = open_run(env.fixture.runs_dir).table("rejects").to_pylist()
    assert any(r["reason"].endswith(")") for r in rejects), "values inside some reasons"
    summary = next(
        t
        for t in (table(at, i) for i in range(len(at.dataframe)))
        if t and "reason" in t[0] and "rows" in t[0]
    )
    assert not any(str(r["reason"]).endswith(")") for r in summary), "one line per check"
    assert sum(r["rows"] for r in summary) == len(rejects)
    assert len(summary) == len(
        {(r["table"], r["column"], r["reason"].split(" (")[0]) for r in rejects}
    )
    basis = next(
        t for t in (table(at, i) for i in range(len(at.dataframe))) if t and "meaning" in t[0]
    )
    assert all(r["meaning"] for r in basis), "every weight basis explained"


def test_the_rejected_rows_download_is_audited(env: AppEnv, tmp_path: Path) -> None:
    from chi.app.pages.quality import _rejects_csv

    at = goto(app_test(env, "analyst").run(), "quality")
    assert "Rejected rows for the records team (CSV)" in [
        b.label for b in at.get("download_button")
    ]
    run = open_run(env.fixture.runs_dir)

    class Ctx:  # the page's context, as far as the download uses it
        def __init__(self) -> None:
            from chi.settings import load_config
            from chi.state.auth import make_user

            self.user = make_user("analyst", "analyst", "")
            self.config = load_config(env.config)
            self.store = Store(env.state)
            self.token = self.store.start_session("analyst", 8).token

        def download_gate(self, page: str) -> DownloadGate:
            return DownloadGate(self.store, self.token, self.config.idle_minutes, page)

        def record(self, action: str, **fields: object) -> None:
            self.store.record(self.user.username, action, **fields)  # type: ignore[arg-type]

    import polars as pl

    rows = pl.from_arrow(run.table("rejects"))
    assert isinstance(rows, pl.DataFrame)
    data = _rejects_csv(Ctx(), run, rows, "every table")()  # type: ignore[arg-type]
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0][:4] == ["table", "key", "column", "reason"]
    assert lines[0][-2:] == ["Run", "Handling"] and len(lines) == rows.height + 1
    assert not any(c.startswith(("=", "+", "@")) for line in lines for c in line)
    [entry] = Store(env.state).audit_log(actions=["download"])
    assert (entry["rows"], entry["detail"]) == (rows.height, "rejects csv; every table")
