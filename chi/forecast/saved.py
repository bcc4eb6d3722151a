"""What a backtest leaves on disk, and the two ways back in: the app's pages and the
forecast column of a victim list.

A model folder (named by the user; ``RUNS/<run_id>/model/`` is where the app looks by
default) holds ``backtest.json`` (every figure of the backtest), ``card.json`` and
``card.md`` (the model card), and one sub-folder per forecast label (``victimisation/``,
``harm/``) with the refitted model and its sidecar (``chi.forecast.model``). Files are
written under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chi.forecast.backtest import Backtest, Options, run_backtest
from chi.forecast.card import Owner, model_card, render_markdown
from chi.forecast.features import FEATURE_NAMES, feature_table
from chi.forecast.history import History, run_history
from chi.forecast.model import ModelError, load_model, read_meta, save_model
from chi.months import month_end, parse_month
from chi.progress import Progress, silent
from chi.scoring.runs import Run

if TYPE_CHECKING:
    from chi.reading.lists import Scope

MODEL_DIR = "model"
BACKTEST_FILE = "backtest.json"
CARD_JSON = "card.json"
CARD_MD = "card.md"
DEFAULT_LABEL = "victimisation"


def default_model_dir(run: Run) -> Path:
    return run.path / MODEL_DIR


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(path: Path, body: dict[str, Any]) -> None:
    _write_text(path, json.dumps(body, indent=2, default=str) + "\n")


def backtest_run(
    run: Run,
    opts: Options,
    model_dir: Path | None = None,
    owner: Owner | None = None,
    progress: Progress = silent,
) -> tuple[Backtest, dict[str, Any]]:
    """Backtest a run's history; with ``model_dir``, refit and save the models, the
    results and the card there. Returns the backtest and its card."""
    history = run_history(run, progress=lambda s, f: progress(s, 0.05 * f))
    return backtest_history(history, opts, model_dir, owner, progress, run_id=run.run_id)


def backtest_history(
    history: History,
    opts: Options,
    model_dir: Path | None = None,
    owner: Owner | None = None,
    progress: Progress = silent,
    run_id: str | None = None,
) -> tuple[Backtest, dict[str, Any]]:
    if model_dir is not None and not opts.refit:
        opts = Options(**{**opts.__dict__, "refit": True})
    bt = run_backtest(history, opts, progress)
    bt.meta["run_id"] = run_id
    saved: dict[str, Any] = {}
    if model_dir is not None:
        progress("saving", 0.97)
        model_dir = Path(model_dir)
        for label, model in bt.models.items():
            model.meta["run_id"] = run_id
            save_model(model, model_dir / label)
            saved[label] = read_meta(model_dir / label)
    card = model_card(bt, owner, saved)
    if model_dir is not None:
        write_json(model_dir / BACKTEST_FILE, bt.to_json())
        write_json(model_dir / CARD_JSON, card)
        _write_text(model_dir / CARD_MD, render_markdown(card))
    progress("done", 1.0)
    return bt, card


def read_saved(model_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(backtest, card) as saved in ``model_dir``."""
    model_dir = Path(model_dir)
    out = []
    for name in (BACKTEST_FILE, CARD_JSON):
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"{model_dir}: no {name}; run `chi backtest RUN --model-dir DIR`")
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            raise ModelError(f"{path}: not valid JSON") from None
    return out[0], out[1]


def _refuse_unchosen(folder: Path, label: str) -> None:
    """A label whose forecast lost to the CHI-harm ranking out of time has no model: say so
    rather than "no saved model"."""
    path = Path(folder) / BACKTEST_FILE
    if (Path(folder) / label).is_dir() or not path.is_file():
        return
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    rep = ((body.get("model") or {}).get("labels") or {}).get(label) or {}
    if rep.get("chosen") == "chi_harm":
        raise ModelError(
            f"no {label} forecast: it did not beat the CHI-harm ranking out of time "
            f"({rep.get('reason', 'see the backtest')}), so none is used"
        )


def forecast_scores(
    run: Run,
    month: str,
    scope: Scope,
    model_dir: Path | None = None,
    label: str = DEFAULT_LABEL,
    history: History | None = None,
    person_ids: list[str] | None = None,
) -> pl.DataFrame:
    """The saved forecast for ``month``: ``person_id``, ``score`` (probability of
    ``label`` within the model's horizon) and ``top_reasons`` (up to three), for the pool
    within ``scope``. A person counts as in scope by their neighbourhood on the month's
    victim list, else by the neighbourhood the features give them (home, else the place of
    their latest victimisation); ``person_ids`` narrows it further (e.g. to the people on
    the list shown, which keeps the explanations quick). Ordered by score, then person_id."""
    folder = model_dir or default_model_dir(run)
    _refuse_unchosen(folder, label)
    model = load_model(folder / label)
    if set(model.features) - set(FEATURE_NAMES):
        raise ModelError("the saved model uses features this chi version does not build")
    first = parse_month(month)
    if month_end(first) > date.fromisoformat(run.manifest.extract.as_of):
        raise ValueError(f"month {month} is not complete in run {run.run_id}")
    h = history or run_history(run)
    table = feature_table(h, [first])
    listed = (
        pl.read_parquet(
            run.file("victim_list"), columns=["month", "person_id", "neighbourhood_code"]
        )
        .filter(pl.col("month") == month)
        .select("person_id", pl.col("neighbourhood_code").alias("list_neighbourhood"))
    )
    table = table.join(listed, on="person_id", how="left").with_columns(
        scope_neighbourhood=pl.coalesce("list_neighbourhood", "neighbourhood")
    )
    if not scope.force_wide:
        table = table.filter(pl.col("scope_neighbourhood").is_in(sorted(scope.neighbourhoods)))
    if person_ids is not None:
        table = table.filter(pl.col("person_id").is_in(person_ids))
    schema: dict[str, pl.DataType] = {
        "person_id": pl.String(),
        "score": pl.Float64(),
        "top_reasons": pl.List(pl.String()),
    }
    if table.is_empty():
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(
        {
            "person_id": table["person_id"],
            "score": model.predict(table),
            "top_reasons": model.explain(table),
        },
        schema=schema,
    ).sort(["score", "person_id"], descending=[True, False])
