"""The Data quality page masks rejected values of personal columns (AppTest): a person whose
sex or ethnicity breaks the contract is listed as rejected with its reason, but the value
itself (which says something about that person) is never sent to the browser."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from app_fixtures import MONTHS, TEST_POLICY, Fixture, _rows, app_test, goto, make_app_env
from factory import write_extract

from chi.app.pages.quality import MASK
from chi.scoring.runs import open_run, score_and_publish


def test_rejected_personal_values_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(random.Random(42))
    rows["persons"][3]["sex"] = "SEXVALUE"
    rows["persons"][4]["ethnicity"] = "ETHNICVALUE"
    extract = write_extract(tmp_path / "extract", **rows, as_of="2024-12-31")
    run = open_run(score_and_publish(extract, tmp_path / "runs", TEST_POLICY, MONTHS))
    rejects = run.table("rejects").to_pylist()
    assert {r["value"] for r in rejects} >= {"SEXVALUE", "ETHNICVALUE"}, "the case is rejected"
    fixture = Fixture(extract, tmp_path / "runs", run.run_id, list(run.manifest.months))
    env = make_app_env(tmp_path / "app", fixture)
    monkeypatch.setenv("CHI_CONFIG", str(env.config))
    at = goto(app_test(env, "analyst"), "quality")
    assert not at.exception
    shown = at.dataframe[-1].value
    personal = shown[shown["column"].isin(["sex", "ethnicity"])]
    assert len(personal) >= 2 and set(personal["value"]) == {MASK}
    assert set(personal["reason"]) and all(personal["reason"].str.len() > 0)
    for frame in at.dataframe:
        text = frame.value.to_csv()
        assert "SEXVALUE" not in text and "ETHNICVALUE" not in text
