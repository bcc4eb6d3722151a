"""The model card: the backtest, the models and the fairness audit written up for people
who have to answer for the list.

Its sections follow the UK Algorithmic Transparency Recording Standard (ATRS): a short
tier-1 summary, then owner and responsibility, description and rationale, the decision
process the tool sits in, data, technical specification and performance, risks (the
fairness audit) and limitations. The card is a plain dict (written as JSON) rendered to
Markdown, so the app, an export and the command line show the same thing. Results from a
generated extract carry a SYNTHETIC DATA banner at the top and in the JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2

from chi import __version__
from chi.forecast.backtest import BASELINE, POLICIES, SYNTHETIC_NOTICE, Backtest
from chi.forecast.features import FEATURES
from chi.forecast.model import MODEL_KINDS, library_versions

PLACEHOLDER = "(not stated: set with --owner/--contact or [card] in chi.toml)"
CARD_FORMAT = "chi-model-card-1"


@dataclass(frozen=True)
class Owner:
    organisation: str = ""
    team: str = ""
    owner: str = ""
    contact: str = ""

    def filled(self) -> dict[str, str]:
        return {k: v or PLACEHOLDER for k, v in asdict(self).items()}


LIMITATIONS = [
    "A backtest measures what a list would have caught in the force's own recorded history. "
    "Recorded crime is not all crime: harm that was never reported, or reported elsewhere, "
    "is invisible to every policy and to the oracle alike.",
    "The forecast learns who was recorded as victimised again, including how the force "
    "recorded and responded; a change in recording practice changes what it predicts.",
    "Home address and demographics are as the extract holds them now, not as they were in "
    "each past month; moves and corrections leak a little of the present into the past.",
    "The pool is people victimised in the last 12 months (the policy window if longer), "
    "and every feature looks back 12 months at most, so early and late list months are "
    "alike: a first-time victim cannot be listed by any policy, and their harm counts "
    "against every policy equally.",
    "Shares are pooled over the test months. A policy is called better only when it "
    "caught more in every test month (the interval across months lies above zero); "
    "consecutive list months share most of a 12-month horizon, so the months are not "
    "independent and a handful of them is weak evidence.",
    "Ethnicity is not a model input. Sex and age are, because repeat-victimisation risk "
    "differs by both; the fairness audit reports the effect on each group.",
    "The forecast is advisory: it adds a column beside the CHI-harm list for analysts, off by "
    "default, and never removes anyone from the list or decides an action.",
]


def _round(v: Any, places: int = 3) -> Any:
    return round(v, places) if isinstance(v, float) else v


def model_card(
    bt: Backtest, owner: Owner | None = None, saved: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The card as a JSON-ready dict. ``saved``: label -> sidecar metadata of saved models."""
    owner = owner or Owner()
    data = bt.meta["data"]
    opts = bt.meta["options"]
    big = bt.plan.main_horizon
    capture = bt.results_table()
    main = capture.filter(capture["horizon"] == big)
    if main.is_empty():
        main = capture.filter(capture["horizon"] == capture["horizon"].max())
    report = bt.model_report or {}
    gaps = bt.fairness_gaps
    return {
        "format": CARD_FORMAT,
        "synthetic": bt.synthetic,
        "notice": SYNTHETIC_NOTICE if bt.synthetic else None,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "tier1": {
            "name": "chi victim list: CHI-harm ranking and repeat-victimisation forecast",
            "description": (
                "Ranks victims of recorded crime by Cambridge Crime Harm Index harm so that "
                "neighbourhood teams get a monthly list of the people most harmed; this card "
                "tests that ranking, and a forecast of further victimisation, against what "
                "actually happened next in the force's own history."
            ),
            "website": "https://github.com/ (chi, open source)",
            "contact": owner.filled()["contact"],
        },
        "owner": owner.filled(),
        "rationale": {
            "purpose": (
                "A victim list is a bet on who will be harmed next. The backtest measures, "
                "for each past list month, the share of the following months' harm and "
                "victimisations that fell on the listed people, at the list sizes the force "
                "can handle, so the force can choose the ranking that protects most people "
                "and see what a forecast adds."
            ),
            "alternatives": {k: v for k, v in POLICIES.items() if k in bt.meta["policies"]},
            "baseline": BASELINE,
        },
        "decision_process": {
            "use": (
                "Analysts review the list and the backtest; neighbourhood officers use the "
                "list to plan safeguarding contact. The forecast column is shown to "
                "analysts only when they switch it on, with the reasons behind each score."
            ),
            "human_oversight": (
                "Every listing is reviewed by a person; no action is taken on a score alone."
            ),
        },
        "data": {
            **data,
            "pool": bt.meta["pool"],
            "time_cut": (
                "features of list month M use only events recorded on or before the last day "
                "of M; outcomes are the events recorded in the horizon after it"
            ),
            "plan": bt.plan.as_dict(),
            "features": [{"name": f.name, "meaning": f.label, "unit": f.unit} for f in FEATURES],
            "not_used": ["ethnicity (audit only)", "name", "free text"],
        },
        "technical": {
            "models": MODEL_KINDS,
            "labels": {
                "victimisation": f"at least one victimisation in the {big} months after M",
                "harm": (
                    f"harm of at least {opts['harm_threshold_days']:g} days in the {big} "
                    "months after M"
                ),
            },
            "versions": library_versions(),
            "chi_version": __version__,
            "saved_models": saved or {},
        },
        "performance": {
            "verdicts": bt.verdicts,
            "capture": [{k: _round(v, 2) for k, v in r.items()} for r in main.to_dicts()],
            "models": report.get("labels", {}),
            "importance": report.get("importance", [])[:12],
        },
        "fairness": {
            "options": opts["fairness"],
            "flagged": [
                {k: _round(v) for k, v in r.items()}
                for r in gaps.filter(gaps["flagged"]).to_dicts()
            ],
            "gaps": [{k: _round(v) for k, v in r.items()} for r in gaps.to_dicts()],
        },
        "limitations": LIMITATIONS,
    }


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """Rows as a Markdown table of ``(key, title)`` columns (floats to three places)."""
    if not rows:
        return "(none)"
    out = [
        "| " + " | ".join(title for _, title in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key)
            cells.append(f"{v:.3f}" if isinstance(v, float) else "" if v is None else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _pct(v: Any) -> str:
    return f"{v:.1f}%" if isinstance(v, (int, float)) else ""


MODEL_COLUMNS = [
    ("model", "model"),
    ("AUC", "AUC"),
    ("average precision", "avg precision"),
    ("Brier", "Brier"),
    ("base rate", "base rate"),
]
CAPTURE_COLUMNS = [
    ("horizon", "horizon (months)"),
    ("k", "k"),
    ("policy", "policy"),
    ("months", "months"),
    ("harm", "harm caught"),
    ("vict", "victimisations caught"),
]
FLAGGED_COLUMNS = [
    ("policy", "policy"),
    ("k", "k"),
    ("attribute", "attribute"),
    ("measure", "measure"),
    ("max_group", "highest"),
    ("max", "value"),
    ("min_group", "lowest"),
    ("min", "value"),
    ("gap", "gap"),
    ("ratio", "ratio"),
    ("reference_gap", "reference gap"),
    ("beyond_reference", "beyond reference"),
]


def model_rows(label_report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model kind of a label's report: AUC, average precision, Brier score, base
    rate, and precision and recall at each list size (``precision@50``...). The card and the
    Backtest page show the same rows."""
    rows = []
    for kind, m in label_report["models"].items():
        row = {
            "model": kind,
            "AUC": m["auc"],
            "average precision": m["average_precision"],
            "Brier": m.get("brier"),
            "base rate": m["base_rate"],
        }
        for k, v in m["at_k"].items():
            row[f"precision@{k}"] = v["precision"]
            row[f"recall@{k}"] = v["recall"]
        rows.append(row)
    return rows


def _model_columns(label_report: dict[str, Any]) -> list[tuple[str, str]]:
    ks = list(next(iter(label_report["models"].values()))["at_k"])
    return (
        MODEL_COLUMNS
        + [(f"precision@{k}", f"precision@{k}") for k in ks]
        + [(f"recall@{k}", f"recall@{k}") for k in ks]
    )


def _out_of_time_auc(label_report: dict[str, Any]) -> str:
    return ", ".join(
        f"{kind} {auc:.3f}"
        for kind, auc in label_report.get("out_of_time_auc", {}).items()
        if auc is not None
    )


def _calibration_rows(cal: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"p": p, "o": o} for p, o in zip(cal["predicted"], cal["observed"], strict=True)]


def _leaks(leakage: list[dict[str, Any]]) -> str:
    return ", ".join(f"{f['feature']} (AUC {f['auc']})" for f in leakage)


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("chi.forecast", "templates"),
        autoescape=False,  # Markdown, not HTML: text stays as typed
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        table=_table,
        commas=lambda v: f"{v:,}",
        g=lambda v: f"{v:g}",
        model_rows=model_rows,
        out_of_time_auc=_out_of_time_auc,
        calibration_rows=_calibration_rows,
        leaks=_leaks,
    )
    env.globals.update(
        CAPTURE_COLUMNS=CAPTURE_COLUMNS,
        FLAGGED_COLUMNS=FLAGGED_COLUMNS,
        model_columns=_model_columns,
    )
    return env.get_template("model_card.md.j2")


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown (``templates/model_card.md.j2``)."""
    data, tech, perf = card["data"], card["technical"], card["performance"]
    tests = ", ".join(
        f"{h} months: {s['first']} to {s['last']} ({s['months']})"
        for h, s in data["plan"]["test_months"].items()
        if s["months"]
    )
    capture = [
        {**r, "harm": _pct(r["harm_pct"]), "vict": _pct(r["victimisations_pct"])}
        for r in perf["capture"]
    ]
    return _template().render(
        card=card,
        t1=card["tier1"],
        owner=card["owner"],
        data=data,
        test_months=tests,
        tech=tech,
        versions=", ".join(f"{k} {v}" for k, v in tech["versions"].items()),
        perf=perf,
        capture=capture,
        fair=card["fairness"],
        saved=tech.get("saved_models") or {},
    )
