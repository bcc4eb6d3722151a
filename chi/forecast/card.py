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
from typing import Any

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


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return ["(none)"]
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
    return out


def _pct(v: Any) -> str:
    return f"{v:.1f}%" if isinstance(v, (int, float)) else ""


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    lines: list[str] = []
    if card.get("synthetic"):
        lines += [f"> **{card['notice']}**", ""]
    t1 = card["tier1"]
    lines += [f"# Model card: {t1['name']}", "", t1["description"], ""]
    owner = card["owner"]
    lines += [
        "## 1. Owner and responsibility",
        "",
        f"- Organisation: {owner['organisation']}",
        f"- Team: {owner['team']}",
        f"- Senior responsible owner: {owner['owner']}",
        f"- Contact: {owner['contact']}",
        "- Supplier: none (chi is open source and run by the force)",
        "",
        "## 2. Description and rationale",
        "",
        card["rationale"]["purpose"],
        "",
        "Policies compared:",
        "",
        *(f"- `{k}`: {v}" for k, v in card["rationale"]["alternatives"].items()),
        "",
        "## 3. Decision-making process",
        "",
        card["decision_process"]["use"],
        "",
        card["decision_process"]["human_oversight"],
        "",
    ]
    data = card["data"]
    plan = data["plan"]
    tests = ", ".join(
        f"{h} months: {s['first']} to {s['last']} ({s['months']})"
        for h, s in plan["test_months"].items()
        if s["months"]
    )
    lines += [
        "## 4. Data",
        "",
        f"- Extract: {data['extract']} (force: {data['force'] or 'not stated'}; "
        f"as of {data['as_of']}; history from {data['first_month']})",
        f"- Synthetic: {'YES (generated by chi generate)' if data['synthetic'] else 'no'}",
        f"- Victimisations: {data['victimisations']:,}; individuals: {data['individuals']:,}",
        f"- Pool: {data['pool']['definition']} "
        f"(about {data['pool']['people_per_month']:,} people a month)",
        f"- Time cut: {data['time_cut']}",
        f"- Test months by horizon: {tests}",
        f"- Model: {plan['model']}",
        f"- Not used by the model: {', '.join(data['not_used'])}",
        "",
        "Features:",
        "",
        *_table(data["features"], [("name", "feature"), ("meaning", "meaning"), ("unit", "unit")]),
        "",
    ]
    tech = card["technical"]
    lines += [
        "## 5. Technical specification and performance",
        "",
        *(f"- `{k}`: {v}" for k, v in tech["models"].items()),
        *(f"- label `{k}`: {v}" for k, v in tech["labels"].items()),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in tech["versions"].items()),
        "",
    ]
    perf = card["performance"]
    lines += ["### What each policy would have caught", ""]
    lines += [f"- {v}" for v in perf["verdicts"]]
    lines += [""]
    lines += _table(
        [
            {**r, "harm": _pct(r["harm_pct"]), "vict": _pct(r["victimisations_pct"])}
            for r in perf["capture"]
        ],
        [
            ("horizon", "horizon (months)"),
            ("k", "k"),
            ("policy", "policy"),
            ("months", "months"),
            ("harm", "harm caught"),
            ("vict", "victimisations caught"),
        ],
    )
    lines += [""]
    for label, rep in perf["models"].items():
        lines += [f"### Model: {label}", ""]
        if "error" in rep:
            lines += [f"Not fitted: {rep['error']}", ""]
            continue
        if "chosen" in rep:
            lines += [
                f"Chosen out of time: **{rep['chosen_name']}** ({rep['reason']}). "
                "Out-of-time AUC on the test months: "
                + ", ".join(
                    f"{kind} {auc:.3f}"
                    for kind, auc in rep.get("out_of_time_auc", {}).items()
                    if auc is not None
                )
                + ".",
                "",
            ]
        rows = []
        for kind, m in rep["models"].items():
            row = {
                "model": kind,
                "auc": m["auc"],
                "ap": m["average_precision"],
                "brier": m.get("brier"),
                "base": m["base_rate"],
            }
            for k, v in m["at_k"].items():
                row[f"p{k}"] = v["precision"]
                row[f"r{k}"] = v["recall"]
            rows.append(row)
        ks = list(next(iter(rep["models"].values()))["at_k"])
        lines += _table(
            rows,
            [
                ("model", "model"),
                ("auc", "AUC"),
                ("ap", "avg precision"),
                ("brier", "Brier"),
                ("base", "base rate"),
            ]
            + [(f"p{k}", f"precision@{k}") for k in ks]
            + [(f"r{k}", f"recall@{k}") for k in ks],
        )
        gbm = rep["models"].get("gbm", {})
        cal = gbm.get("calibration", {})
        if cal.get("predicted"):
            lines += ["", "Calibration (gradient-boosted, ten equal-count bins):", ""]
            lines += _table(
                [{"p": p, "o": o} for p, o in zip(cal["predicted"], cal["observed"], strict=True)],
                [("p", "mean predicted"), ("o", "observed rate")],
            )
        if rep.get("leakage"):
            lines += [
                "",
                "**Leakage check failed**: these features alone separate the outcome almost "
                "perfectly, which means they carry the future: "
                + ", ".join(f"{f['feature']} (AUC {f['auc']})" for f in rep["leakage"]),
            ]
        else:
            lines += ["", "Leakage check: no feature alone separates the outcome (AUC < 0.95)."]
        lines += [""]
    if perf["importance"]:
        lines += ["### What the forecast relies on (permutation importance)", ""]
        lines += _table(
            perf["importance"],
            [("label", "feature"), ("mean", "fall in avg precision"), ("std", "sd")],
        )
        lines += [""]
    fair = card["fairness"]
    opts = fair["options"]
    lines += [
        "## 6. Risks: fairness audit",
        "",
        f"Listing rate, precision and false-negative rate by sex, age band, ethnicity and area "
        f"for each policy and list size, over the test months. Flagged: a gap above "
        f"{opts['gap']:g} (absolute), or a listing-rate ratio above {opts['ratio']:g}; groups "
        f"under {opts['min_group']} person-months and `unknown` are not compared. "
        "Reference: the oracle's gap (a list of those actually harmed next) for listing and "
        "false-negative rates; for precision, where the oracle is always right, the "
        "difference in the two groups' rates of being victimised again. `beyond reference`: "
        "out of proportion to it.",
        "",
    ]
    lines += _table(
        fair["flagged"],
        [
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
        ],
    )
    lines += [""] + [f"- {r['meaning']}" for r in fair["flagged"] if r.get("meaning")]
    lines += ["", "## 7. Limitations", ""]
    lines += [f"- {v}" for v in card["limitations"]]
    saved = tech.get("saved_models") or {}
    if saved:
        lines += ["", "## 8. Saved models", ""]
        for label, meta in saved.items():
            trained = meta.get("trained_on", {})
            lines.append(
                f"- `{label}`: trained on list months {trained.get('first_list_month')} to "
                f"{trained.get('last_list_month')}, sha256 {meta.get('sha256')}"
            )
    lines += ["", f"_Card created {card['created_at']} by chi {tech['chi_version']}._", ""]
    return "\n".join(lines)
