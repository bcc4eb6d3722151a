"""Command-line commands for forecasting and backtesting: ``chi backtest`` and ``chi model``.

``chi backtest RUN`` answers, from the force's own history, which list policy would have
caught the most of the following months' harm at each list size, by how much it beat
today's CHI-harm ranking, and whether any group was listed or missed out of proportion.
``chi model`` trains and saves the forecast, checks a saved one, and prints its card.

Registered on the ``chi`` command by ``chi.cli``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chi.cli.common import RunArgument, add_group, clear_errors, echo_table

if TYPE_CHECKING:
    from chi.forecast.backtest import Backtest, Options
    from chi.forecast.card import Owner


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise ValueError(
            f"{what} must be whole numbers separated by commas, not {text!r}"
        ) from None
    if not values:
        raise ValueError(f"{what} needs at least one value")
    return values


def card_owner(
    config: Path | None,
    organisation: str | None,
    team: str | None,
    owner: str | None,
    contact: str | None,
) -> Owner:
    """``[card]`` of chi.toml (or --config), then the flags."""
    from chi.forecast.card import Owner
    from chi.settings import local_settings

    section = local_settings(config).card
    given = {"organisation": organisation, "team": team, "owner": owner, "contact": contact}
    merged = {k: v if v is not None else section.get(k, "") for k, v in given.items()}
    return Owner(**merged)


def _print_backtest(bt: Backtest) -> None:
    from chi.forecast.backtest import POLICIES, SYNTHETIC_NOTICE

    if bt.synthetic:
        typer.echo(SYNTHETIC_NOTICE)
        typer.echo("")
    data, plan = bt.meta["data"], bt.plan.as_dict()
    typer.echo(
        f"extract as of {data['as_of']}, history from {data['first_month']}; "
        f"pool about {bt.meta['pool']['people_per_month']:,} people a month "
        f"(victimised in the last {bt.meta['pool'].get('lookback_months', 12)} months)"
    )
    typer.echo(f"forecast model: {plan['model']}")
    scope = "per neighbourhood" if bt.meta["options"]["per_neighbourhood"] else "force-wide"
    table = bt.results_table()
    for horizon in sorted(set(table["horizon"].to_list())):
        span = plan["test_months"][str(horizon)]
        reach = bt.meta["pool"]["reach"].get(str(horizon), {})
        typer.echo("")
        typer.echo(
            f"next {horizon} months, list months {span['first']} to {span['last']} "
            f"({span['months']}): share of all later harm / victimisations that fell on "
            f"the top k ({scope}); on the whole pool "
            f"{reach.get('harm_pct', 0):.1f}% / {reach.get('victimisations_pct', 0):.1f}%"
        )
        at = table.filter(table["horizon"] == horizon)
        ks = sorted(set(at["k"].to_list()))
        cells = {(r["policy"], r["k"]): r for r in at.iter_rows(named=True)}
        policies = [p for p in POLICIES if any((p, k) in cells for k in ks)]
        rows = [
            {
                "policy": pol,
                **{
                    f"k={k}": f"{cells[pol, k]['harm_pct']:.1f}% / "
                    f"{cells[pol, k]['victimisations_pct']:.1f}%"
                    for k in ks
                },
            }
            for pol in policies
        ]
        echo_table(rows, ["policy", *(f"k={k}" for k in ks)])
    report = bt.model_report or {}
    for label, rep in report.get("labels", {}).items():
        if "error" in rep:
            typer.echo(f"\nmodel {label}: not fitted ({rep['error']})")
            continue
        parts = []
        for kind, m in rep["models"].items():
            if m["auc"] is not None:
                brier = f", Brier {m['brier']:.3f}" if m.get("brier") is not None else ""
                parts.append(
                    f"{kind} AUC {m['auc']:.3f}, avg precision {m['average_precision']:.3f}" + brier
                )
        typer.echo(
            f"\nmodel {label} (base rate {rep['models']['gbm']['base_rate']:.3f}), out of "
            "time on the test months: " + "; ".join(parts)
        )
        if "chosen" in rep:
            typer.echo(f"  chosen: {rep['chosen_name']} ({rep['reason']})")
        if rep["leakage"]:
            typer.echo(
                "  LEAKAGE CHECK FAILED: "
                + ", ".join(f"{f['feature']} alone has AUC {f['auc']}" for f in rep["leakage"])
            )
    typer.echo("")
    for line in bt.verdicts:
        typer.echo(line)


def _options(
    k: str,
    horizon: str,
    per_neighbourhood: bool,
    no_model: bool,
    harm_threshold: float | None,
    fairness_gap: float,
    fairness_ratio: float,
    min_group: int,
    min_history: int | None,
) -> Options:
    from chi.forecast.backtest import Options
    from chi.forecast.fairness import FairnessOptions

    return Options(
        ks=_ints(k, "--k"),
        horizons=_ints(horizon, "--horizon"),
        per_neighbourhood=per_neighbourhood,
        model=not no_model,
        harm_threshold_days=harm_threshold,
        fairness=FairnessOptions(gap=fairness_gap, ratio=fairness_ratio, min_group=min_group),
        min_history_months=min_history,
    )


def backtest(
    run: RunArgument,
    k: Annotated[str, typer.Option("--k", help="List sizes, comma-separated.")] = "50,100,200,500",
    horizon: Annotated[
        str, typer.Option(help="Horizons in months, comma-separated; the longest is the main.")
    ] = "3,6,12",
    per_neighbourhood: Annotated[
        bool, typer.Option("--per-neighbourhood", help="List the top k of each neighbourhood.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every figure as JSON here.")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Save the refitted models, results and card here (e.g. RUN/model)."),
    ] = None,
    card: Annotated[
        Path | None, typer.Option(help="Write the model card as Markdown (and .json beside it).")
    ] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Skip the forecast.")] = False,
    harm_threshold: Annotated[
        float | None,
        typer.Option(help="Harm label threshold in days (default: the policy's min_harm)."),
    ] = None,
    fairness_gap: Annotated[
        float, typer.Option(help="Flag precision/false-negative/listing gaps above this.")
    ] = 0.10,
    fairness_ratio: Annotated[
        float, typer.Option(help="Flag a most/least listed ratio above this.")
    ] = 1.25,
    min_group: Annotated[
        int, typer.Option(help="Smallest group (person-months) the audit compares.")
    ] = 100,
    min_history: Annotated[
        int | None, typer.Option(help="Months of history before the first list month.")
    ] = None,
    max_train_rows: Annotated[
        int, typer.Option(help="Training rows per model (more: slower, a little better).")
    ] = 60_000,
    owner: Annotated[str | None, typer.Option(help="Card: senior responsible owner.")] = None,
    contact: Annotated[str | None, typer.Option(help="Card: contact.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Card: organisation.")] = None,
    team: Annotated[str | None, typer.Option(help="Card: team.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="chi.toml with a [card] table (default: ./chi.toml).")
    ] = None,
) -> None:
    """Which list policy would have caught most of the next months' harm, and is it fair.

    For every past list month with a full horizon after it, ranks the victims of a fixed
    look-back (12 months, or the list window if longer) by CHI harm (today's list), count,
    recency-frequency-gravity, the forecast model
    and the actual future (oracle), and reports the share of all later harm and
    victimisations that fell on the top k, with a fairness audit by sex, age, ethnicity and
    area.
    """
    from chi.forecast.card import render_markdown
    from chi.forecast.saved import backtest_run, write_json
    from chi.progress import terminal_progress
    from chi.scoring.runs import open_run

    with clear_errors():
        r = open_run(run)
        opts = replace(
            _options(
                k,
                horizon,
                per_neighbourhood,
                no_model,
                harm_threshold,
                fairness_gap,
                fairness_ratio,
                min_group,
                min_history,
            ),
            max_train_rows=max_train_rows,
        )
        who = card_owner(config, organisation, team, owner, contact)
        with terminal_progress("backtest") as progress:
            bt, model_card = backtest_run(r, opts, model_dir, who, progress)
        _print_backtest(bt)
        if json_out is not None:
            write_json(json_out, bt.to_json())
            typer.echo(f"results written to {json_out}", err=True)
        if card is not None:
            card.parent.mkdir(parents=True, exist_ok=True)
            card.write_text(render_markdown(model_card), encoding="utf-8")
            write_json(card.with_suffix(".json"), model_card)
            typer.echo(f"model card written to {card}", err=True)
        if model_dir is not None:
            typer.echo(f"models, results and card saved in {model_dir}", err=True)


def train(
    run: RunArgument,
    model_dir: Annotated[
        Path | None, typer.Option(help="Where to save (default: RUN/model).")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Forecast horizon in months.")] = 12,
    harm_threshold: Annotated[
        float | None, typer.Option(help="Harm label threshold in days.")
    ] = None,
) -> None:
    """Evaluate, refit and save the forecast for the app (a backtest at one horizon)."""
    from chi.forecast.backtest import Options, plan_months
    from chi.forecast.history import run_history
    from chi.forecast.saved import backtest_history, default_model_dir
    from chi.progress import terminal_progress
    from chi.scoring.runs import open_run

    with clear_errors():
        r = open_run(run)
        folder = model_dir or default_model_dir(r)
        opts = Options(horizons=(horizon,), harm_threshold_days=harm_threshold, refit=True)
        with terminal_progress("train") as progress:
            history = run_history(r, progress=lambda s, f: progress(s, 0.05 * f))
            plan = plan_months(history, opts)
            if not plan.train_months:
                raise ValueError(f"no model can be trained: {plan.model_note}")
            bt, _ = backtest_history(history, opts, folder, None, progress, run_id=r.run_id)
        if not bt.models:
            labels = (bt.model_report or {}).get("labels", {})
            why = "; ".join(
                f"{label}: {rep.get('reason') or rep.get('error')}" for label, rep in labels.items()
            )
            raise ValueError(f"no model saved: {why or bt.plan.model_note}")
        for label, m in bt.models.items():
            kind = m.meta.get("evaluation", {}).get("chosen", "gbm")
            ev = m.meta.get("evaluation", {}).get("models", {}).get(kind, {})
            typer.echo(
                f"{label}: trained on {m.meta['trained_on']['first_list_month']} to "
                f"{m.meta['trained_on']['last_list_month']}, held-out AUC {ev.get('auc', 0):.3f}"
            )
        typer.echo(str(folder))


def check(
    model_dir: Annotated[Path, typer.Argument(help="Model folder (e.g. RUN/model).")],
) -> None:
    """Verify each saved model's checksum and library version, and describe it."""
    from chi.forecast.model import load_model

    with clear_errors():
        found = [p.parent for p in sorted(Path(model_dir).glob("*/model.json"))]
        if not found:
            raise ValueError(f"{model_dir}: no saved models")
        for folder in found:
            m = load_model(folder)
            trained = m.meta.get("trained_on", {})
            typer.echo(
                f"{folder.name}: ok (sha256 {m.meta['sha256'][:12]}..., scikit-learn "
                f"{m.meta['versions']['scikit-learn']}, {len(m.features)} features, horizon "
                f"{m.horizon_months} months, trained on {trained.get('first_list_month')} to "
                f"{trained.get('last_list_month')})"
            )


def card_(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by chi backtest.")],
    out: Annotated[Path | None, typer.Option(help="Write here (default: print).")] = None,
    format: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """Print or export the model card saved by ``chi backtest --model-dir``."""
    import json

    from chi.forecast.card import render_markdown
    from chi.forecast.saved import read_saved

    with clear_errors():
        if format not in ("md", "json"):
            raise ValueError(f"--format must be md or json, not {format!r}")
        _, saved_card = read_saved(model_dir)
        text = (
            render_markdown(saved_card)
            if format == "md"
            else json.dumps(saved_card, indent=2) + "\n"
        )
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"model card written to {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``chi`` command line."""
    app.command("backtest")(backtest)
    add_group(
        app,
        "model",
        "The forecast model: train and save it, check a saved one, print its card.",
        {"train": train, "check": check, "card": card_},
    )
