"""The forecast column on the victim list: analysts only, off by default, scoped like the list."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
from app_fixtures import AppEnv, app_test, make_app_env, shared_fixture, table

from chi.app import data
from chi.reading.lists import Scope
from chi.scoring.runs import Run


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path_factory.mktemp("forecast"), shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """A stand-in for a trained model: scores 0.5 for everyone asked about; records calls."""
    calls: list[tuple[str, list[str]]] = []

    def forecast(run: Run, month: str, scope: Scope, people: list[str]) -> pl.DataFrame:
        calls.append((scope.key, sorted(people)))
        return pl.DataFrame(
            {
                "person_id": people,
                "score": [0.5] * len(people),
                "top_reasons": [["harm in the last 3 months"]] * len(people),
            },
            schema={"person_id": pl.String, "score": pl.Float64, "top_reasons": pl.List(pl.String)},
        )

    monkeypatch.setattr(data, "has_forecast_model", lambda run: True)
    monkeypatch.setattr(data, "forecast", forecast)
    return calls


def test_off_by_default_and_on_for_the_analyst(
    env: AppEnv, fake_model: list[tuple[str, list[str]]]
) -> None:
    at = app_test(env, "analyst").run()
    assert not at.exception
    [toggle] = [t for t in at.toggle if t.key == "victims_forecast"]
    assert toggle.value is False
    assert "Forecast" not in table(at)[0]
    assert fake_model == []
    toggle.set_value(True)
    at.run()
    assert not at.exception, at.exception
    rows = table(at)
    assert {r["Forecast"] for r in rows} == {0.5}
    assert {r["Forecast: why"] for r in rows} == {"harm in the last 3 months"}
    assert fake_model == [("*", sorted(r["Person id"] for r in rows))]


def test_other_roles_have_no_forecast(env: AppEnv, fake_model: list[tuple[str, list[str]]]) -> None:
    for user in ("sergeant", "north"):
        at = app_test(env, user).run()
        assert not at.exception
        assert [t for t in at.toggle if t.key == "victims_forecast"] == []
        assert "Forecast" not in table(at)[0]
    assert fake_model == []
