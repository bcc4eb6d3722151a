"""``chi backtest`` end to end on a run of the generated extract, and the harness's promises
checked on real-sized data: the oracle bounds every policy, a leaky feature is caught, the
saved model scores a month for the app, synthetic results say so."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from test_backtest_handmade import assert_oracle_bounds
from typer.testing import CliRunner

from chi.cli import app
from chi.forecast.backtest import (
    Options,
    evaluate_models,
    plan_months,
    rank_pool,
    run_backtest,
    sort_keys,
)
from chi.forecast.features import FEATURE_NAMES, feature_table, outcomes, with_outcomes
from chi.forecast.history import History, run_history
from chi.forecast.saved import forecast_scores
from chi.forecast.timecut import month_index
from chi.reading.lists import Scope
from chi.scoring.policy import Policy
from chi.scoring.runs import Run, open_run, score_and_publish

runner = CliRunner()


@dataclass(frozen=True)
class Outputs:
    run: Run
    stdout: str
    exit_code: int
    json: dict[str, Any]
    model_dir: Path
    card: Path


@pytest.fixture(scope="module")
def run(generated_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    runs = tmp_path_factory.mktemp("bt_runs")
    return open_run(score_and_publish(generated_extract, runs, Policy()))


@pytest.fixture(scope="module")
def history(run: Run) -> History:
    return run_history(run)


@pytest.fixture(scope="module")
def cli(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    out = tmp_path_factory.mktemp("bt_out")
    model_dir, card, js = out / "model", out / "card.md", out / "backtest.json"
    result = runner.invoke(
        app,
        [
            "backtest",
            str(run.path),
            "--k",
            "50,200",
            "--horizon",
            "3",
            "--json",
            str(js),
            "--model-dir",
            str(model_dir),
            "--card",
            str(card),
            "--max-train-rows",
            "20000",
            "--owner",
            "Head of Analysis",
            "--contact",
            "analysis@example.org",
        ],
    )
    return Outputs(
        run=run,
        stdout=result.output,
        exit_code=result.exit_code,
        json=json.loads(js.read_text()) if js.exists() else {},
        model_dir=model_dir,
        card=card,
    )


def test_backtest_prints_the_table_and_the_answer(cli: Outputs) -> None:
    assert cli.exit_code == 0, cli.stdout
    assert cli.stdout.startswith("SYNTHETIC DATA")
    for policy in ("chi_harm", "count", "rfg", "forecast", "forecast_harm", "oracle"):
        assert policy in cli.stdout
    assert "next 3 months" in cli.stdout
    # 3 test months: each verdict gives its interval across months.
    assert "k=50 force-wide, next 3 months (3 test months): " in cli.stdout
    assert "interval across months" in cli.stdout or "CHI-harm ranking caught the most" in (
        cli.stdout
    )
    assert "chosen: " in cli.stdout
    assert "no list of 200 could have caught more than" in cli.stdout
    assert "fairness:" in cli.stdout


def test_json_holds_every_figure_and_the_oracle_bounds_them(cli: Outputs) -> None:
    body = cli.json
    assert body["notice"] and "SYNTHETIC" in str(body["notice"])
    results = pl.DataFrame(body["results"])
    assert set(results["k"].to_list()) == {50, 200}
    assert set(results["policy"].to_list()) >= {"chi_harm", "oracle", "forecast"}
    assert ((results["harm_pct"] >= 0) & (results["harm_pct"] <= 100)).all()
    assert_oracle_bounds(pl.DataFrame(body["curves"]))
    model = body["model"]
    assert isinstance(model, dict)
    gbm = model["labels"]["victimisation"]["models"]["gbm"]
    assert 0.5 < gbm["auc"] < 0.99
    assert model["labels"]["victimisation"]["leakage"] == []
    assert len(gbm["calibration"]["predicted"]) > 0
    for label, rep in model["labels"].items():
        # Which candidate was chosen, and every candidate's out-of-time AUC.
        assert rep["chosen"] in {"gbm", "logistic", "chi_harm"}, label
        assert set(rep["out_of_time_auc"]) == {"gbm", "logistic", "chi_harm"}
        assert set(rep["validation_auc"]) == {"gbm", "logistic", "chi_harm"}
        valid = rep["validation_auc"]
        # A model that loses to a simpler candidate on the validation months is not used.
        if rep["chosen"] == "gbm":
            assert valid["gbm"] > valid["logistic"] and valid["gbm"] > valid["chi_harm"]
        if rep["chosen"] == "logistic":
            assert valid["logistic"] > valid["chi_harm"]
        policy = "forecast" if label == "victimisation" else "forecast_harm"
        assert (policy in set(results["policy"].to_list())) == (rep["chosen"] != "chi_harm")
    plan = body["plan"]
    assert plan["validation_months"]["months"] >= 1
    assert plan["train_months"]["months"] > plan["validation_months"]["months"]
    diffs = pl.DataFrame(body["differences"]["rows"])
    row = diffs.filter(
        (pl.col("horizon") == 3) & (pl.col("k") == 50) & (pl.col("policy") == "oracle")
    )
    assert row.is_empty()  # the oracle is a bound, not a policy to compare
    count = diffs.filter(
        (pl.col("horizon") == 3)
        & (pl.col("k") == 50)
        & (pl.col("policy") == "count")
        & (pl.col("against") == "chi_harm")
    ).row(0, named=True)
    by_month = pl.DataFrame(body["by_month"]).filter((pl.col("horizon") == 3) & (pl.col("k") == 50))
    share = by_month.with_columns(s=100 * pl.col("harm_captured_days") / pl.col("harm_total_days"))
    per = share.pivot("policy", index="cut_month", values="s")
    d = (per["count"] - per["chi_harm"]).to_list()
    assert count["months"] == len(d)
    assert count["low"] == pytest.approx(min(d)) and count["high"] == pytest.approx(max(d))
    assert count["mean"] == pytest.approx(sum(d) / len(d))
    assert model["importance"]


def test_card_is_written_and_labelled_synthetic(cli: Outputs) -> None:
    text = cli.card.read_text()
    assert text.startswith("> **SYNTHETIC DATA")
    assert "Head of Analysis" in text and "analysis@example.org" in text
    for section in ("Owner and responsibility", "Data", "fairness audit", "Limitations"):
        assert section in text
    card = json.loads(cli.card.with_suffix(".json").read_text())
    assert card["synthetic"] is True
    shown = runner.invoke(app, ["model", "card", str(cli.model_dir)])
    assert shown.exit_code == 0 and shown.output.startswith("> **SYNTHETIC DATA")


def test_saved_models_check_out(cli: Outputs) -> None:
    result = runner.invoke(app, ["model", "check", str(cli.model_dir)])
    assert result.exit_code == 0, result.output
    chosen = {k: v["chosen"] for k, v in cli.json["model"]["labels"].items()}
    for label, kind in chosen.items():
        # A label whose forecast lost to the CHI-harm ranking has no model to save.
        assert (f"{label}: ok" in result.output) == (kind != "chi_harm")
        if kind != "chi_harm":
            assert json.loads((cli.model_dir / label / "model.json").read_text())["kind"] == kind


def test_forecast_scores_for_the_app(cli: Outputs, history: History) -> None:
    month = cli.run.manifest.months[-1]
    listed = pl.read_parquet(cli.run.file("victim_list")).filter(pl.col("month") == month)
    scores = forecast_scores(
        cli.run,
        month,
        Scope.force(),
        model_dir=cli.model_dir,
        history=history,
        person_ids=listed["person_id"].to_list(),
    )
    assert scores.columns == ["person_id", "score", "top_reasons"]
    assert set(scores["person_id"].to_list()) == set(listed["person_id"].to_list())
    assert scores["score"].is_between(0, 1).all()
    assert scores["score"].to_list() == sorted(scores["score"].to_list(), reverse=True)
    assert any(scores["top_reasons"].head(20).to_list())
    nb = listed["neighbourhood_code"][0]
    local = forecast_scores(
        cli.run,
        month,
        Scope.of({nb}),
        model_dir=cli.model_dir,
        history=history,
        person_ids=listed["person_id"].to_list(),
    )
    mine = set(listed.filter(pl.col("neighbourhood_code") == nb)["person_id"].to_list())
    assert set(local["person_id"].to_list()) == mine


def test_chi_harm_ranking_is_the_victim_list(run: Run, history: History) -> None:
    # The backtest's chi_harm policy is the published list, in its order, force-wide and
    # within each neighbourhood.
    month = "2024-06"
    listed = pl.read_parquet(run.file("victim_list")).filter(pl.col("month") == month)
    table = feature_table(history, [date(2024, 6, 1)])
    ranked = rank_pool(table, sort_keys("chi_harm", 3, "harm"))
    k = listed.height
    assert (
        ranked["person_id"].head(k).to_list() == listed.sort("rank")["person_id"].head(k).to_list()
    )
    # Within a neighbourhood: where the list has 3 or more people (elsewhere the top 3 go
    # on into the pool below the list's thresholds).
    full = (
        listed.group_by("neighbourhood_code")
        .len()
        .filter(pl.col("len") >= 3)["neighbourhood_code"]
        .to_list()
    )
    by_nb = rank_pool(table, sort_keys("chi_harm", 3, "harm"), per_neighbourhood=True)
    mine = by_nb.filter((pl.col("rank") <= 3) & pl.col("neighbourhood").is_in(full)).select(
        "person_id", "neighbourhood"
    )
    theirs = listed.filter(
        (pl.col("neighbourhood_rank") <= 3) & pl.col("neighbourhood_code").is_in(full)
    ).select("person_id", pl.col("neighbourhood_code").alias("neighbourhood"))
    assert len(full) > 50
    assert mine.sort("person_id").equals(theirs.sort("person_id"))


def test_the_feature_table_is_in_month_and_person_order_with_each_persons_own_row(
    history: History,
) -> None:
    # The pool is taken in (month, person_id) order and each row's person attributes are
    # taken by position (pix), not joined: checked here against a join on person_id.
    months = [date(2024, 3, 1), date(2024, 9, 1), date(2024, 6, 1)]
    table = feature_table(history, months)
    keys = list(zip(table["cut_mi"].to_list(), table["person_id"].to_list(), strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert sorted(set(table["cut_month"].to_list())) == ["2024-03", "2024-06", "2024-09"]
    persons = history.persons.select(
        "person_id", sex_now="sex", birth="birth_date", home="home_neighbourhood"
    )
    joined = table.join(persons, on="person_id", how="left", maintain_order="left")
    assert joined["birth"].null_count() < joined.height  # the generator gives birth dates
    assert joined["sex"].to_list() == joined["sex_now"].fill_null("unknown").to_list()
    home = joined.filter(pl.col("home").is_not_null())
    assert home.height > 0 and (home["neighbourhood"] == home["home"]).all()
    aged = joined.filter(pl.col("birth").is_not_null()).head(500)
    for cut_end, birth, age in aged.select("cut_end", "birth", "age").iter_rows():
        before_birthday = (cut_end.month, cut_end.day) < (birth.month, birth.day)
        assert age == cut_end.year - birth.year - before_birthday
    # so a History whose persons are not in pix order cannot be made
    with pytest.raises(ValueError, match="pix order"):
        replace(history, persons=history.persons.reverse())
    with pytest.raises(ValueError, match="pix order"):
        replace(history, persons=history.persons.filter(pl.col("pix") != 7))


def test_a_leaky_feature_is_caught_by_the_harness(history: History) -> None:
    opts = Options(
        ks=(100,),
        horizons=(3,),
        min_history_months=12,
        features=(*FEATURE_NAMES, "leak"),
        max_train_rows=20_000,
    )
    p = plan_months(history, opts)
    assert p.train_months and p.test_months[3]
    table = feature_table(history, p.all_months)
    table = with_outcomes(
        table, outcomes(history, p.all_months, 3), 3, month_index(p.last_month) - 3
    )
    rng = np.random.default_rng(0)
    noise = pl.Series(rng.normal(scale=0.05, size=table.height))
    table = table.with_columns(leak=(pl.col("fut_n_3") >= 1).cast(pl.Float64) + noise)
    _, report = evaluate_models(table, p, opts, threshold_c=36500)
    victimisation = report["labels"]["victimisation"]
    assert [f["feature"] for f in victimisation["leakage"]] == ["leak"]
    assert victimisation["models"]["gbm"]["auc"] > 0.99


def test_per_neighbourhood_oracle_bounds_every_policy(history: History) -> None:
    opts = Options(
        ks=(1, 3), horizons=(1, 3), min_history_months=18, model=False, per_neighbourhood=True
    )
    bt = run_backtest(history, opts)
    assert_oracle_bounds(bt.curves)
    assert bt.synthetic


def test_errors_are_one_line(tmp_path: Path, run: Run) -> None:
    missing = runner.invoke(app, ["backtest", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert missing.output.startswith("chi: ") and missing.output.count("\n") == 1
    bad = runner.invoke(app, ["backtest", str(run.path), "--k", "fifty"])
    assert bad.exit_code == 2 and "--k must be whole numbers" in bad.output
    nomodel = runner.invoke(app, ["model", "check", str(tmp_path)])
    assert nomodel.exit_code == 2 and nomodel.output.startswith("chi: ")
    short = runner.invoke(app, ["model", "train", str(run.path), "--model-dir", str(tmp_path)])
    assert short.exit_code == 2
    assert "needs at least 39 complete months" in short.output
    assert not (tmp_path / "backtest.json").exists()


def test_months_without_a_full_horizon_are_not_evaluated(history: History) -> None:
    p = plan_months(history, Options(horizons=(12,), model=False))
    # 24 months from 2023-01: lists from 2023-12 (a full 12-month window); a 12-month
    # horizon must end by 2024-12, so 2023-12 is the only month evaluated.
    assert p.test_months[12] == (date(2023, 12, 1),)
    assert "not run" in p.model_note
