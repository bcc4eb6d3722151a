"""What the class-level rule decides: how much harm and how many listed people depend on it.

A crime that carries only its Home Office class/subclass (no fine offence key) is weighted at
the class's lowest weight by default (the contract's rule: a list never overstates harm) or,
when the policy says ``class_rule = "typical"``, at the weight of the class's typical offence.
Every staged crime carries its weight under both rules (``weight`` and ``weight_other``), so
one query per run says, for every list month, the harm weighted at class level under each
rule and who is listed only because of the rule chosen. The run's manifest keeps it; the data
quality page shows it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chi import sql
from chi.reference import offence_rules_manifest
from chi.scoring.policy import CLASS_RULES

if TYPE_CHECKING:  # imported where an extract is prepared: not for reading a run
    from chi.scoring.prepare import Prepared


def other_rule(rule: str) -> str:
    return next(r for r in CLASS_RULES if r != rule)


def impact(p: Prepared) -> dict[str, Any]:
    """The class rule of the run, the alternative, and per list month what depends on it.

    Needs ``list_months`` (made by :func:`chi.scoring.score.score`)."""
    rows = sql.run(
        p.con,
        "quality/class_rule_impact",
        {"min_harm": p.policy.min_harm, "min_crimes": p.policy.min_crimes},
    ).pl()
    months = [_as_recorded(r) for r in rows.to_dicts()]
    return {
        "rule": p.policy.class_rule,
        "other_rule": other_rule(p.policy.class_rule),
        "tables": offence_rules_manifest(),
        "months": months,
    }


def totals(p: Prepared) -> dict[str, Any]:
    """Recorded crimes weighted at class level, with their harm under each rule."""
    [row] = sql.run(p.con, "quality/class_rule_totals").pl().to_dicts()
    return {
        "rule": p.policy.class_rule,
        "other_rule": other_rule(p.policy.class_rule),
        **_as_recorded(row),
    }


def _as_recorded(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the queries as the manifest keeps it: harm (an exact decimal) as text, so no
    float ever rounds it; months and counts as they are."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
