"""Named groups of offences, defined by Home Office classification, for masking and reporting.

Some offence detail is too sensitive to show to everyone who may see a list: by default a
neighbourhood team sees a sexual offence only as "sexual offence", never its title. Which
offences belong to a group is decided here, once, by the Home Office classification number
(the digits that start the classification code: ``19`` of ``19C``, ``88`` of ``88A``), read
from the offence key's group (the part of ``offence_code`` before its first ``.``, as in the
CHI sheet's ``classification_code``) or, when there is no offence key, from ``ho_class``
(``CCC/SS``). The same rule is available as a Python function and as a SQL expression, and
a test checks that the two agree over every row of the weight sets.

Groups live in a small registry (``GROUPS``) so that more can be added by name (domestic
abuse, child sexual abuse and exploitation, serious sexual offences, rape, modern slavery)
and chosen in configuration (``restricted_groups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class OffenceGroup:
    name: str
    """Registry key, as written in configuration (``sexual_offences``)."""
    label: str
    """What is shown instead of the offence's own title when the group is restricted."""
    classes: frozenset[int]
    """Home Office classification numbers in the group."""
    description: str = ""


GROUPS: dict[str, OffenceGroup] = {}


def register(group: OffenceGroup) -> OffenceGroup:
    if group.name in GROUPS:
        raise ValueError(f"offence group {group.name!r} is already registered")
    GROUPS[group.name] = group
    return group


SEXUAL_OFFENCES = register(
    OffenceGroup(
        name="sexual_offences",
        label="sexual offence",
        classes=frozenset([*range(17, 28), 70, 71, 72, 73, 88]),
        description=(
            "Home Office classes 17-27, 70-73 and 88: rape, sexual assault, sexual activity "
            "with children, exploitation of prostitution, abuse of trust, grooming, voyeurism"
        ),
    )
)

_LEADING_DIGITS = re.compile(r"\s*([0-9]+)")


def classification_number(offence_code: str | None, ho_class: str | None) -> int | None:
    """The Home Office classification number of an offence, or None when neither field has one."""
    for text in ((offence_code or "").split(".", 1)[0], ho_class or ""):
        m = _LEADING_DIGITS.match(text)
        if m:
            return int(m.group(1))
    return None


def groups_of(offence_code: str | None, ho_class: str | None) -> list[str]:
    """Names of the registered groups the offence belongs to, in registry order."""
    n = classification_number(offence_code, ho_class)
    return [] if n is None else [g.name for g in GROUPS.values() if n in g.classes]


def resolve(names: Iterable[str]) -> list[OffenceGroup]:
    """The groups named (as in configuration); an unknown name is an error."""
    out = []
    for name in names:
        if name not in GROUPS:
            raise ValueError(
                f"unknown offence group {name!r}; known groups: {', '.join(sorted(GROUPS))}"
            )
        out.append(GROUPS[name])
    return out


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_classification_number(offence_code: str, ho_class: str) -> str:
    """SQL for ``classification_number`` over two column expressions."""
    return (
        f"coalesce(try_cast(regexp_extract(split_part({offence_code}, '.', 1), "
        f"'^\\s*([0-9]+)', 1) as integer), "
        f"try_cast(regexp_extract({ho_class}, '^\\s*([0-9]+)', 1) as integer))"
    )


def sql_in_group(group: OffenceGroup, offence_code: str, ho_class: str) -> str:
    classes = ", ".join(str(c) for c in sorted(group.classes))
    return f"coalesce({sql_classification_number(offence_code, ho_class)} in ({classes}), false)"


def sql_masked_title(
    groups: Iterable[OffenceGroup], title: str, offence_code: str, ho_class: str
) -> str:
    """SQL for an offence's display title with restricted groups replaced by their label."""
    whens = " ".join(
        f"when {sql_in_group(g, offence_code, ho_class)} then {_sql_text(g.label)}" for g in groups
    )
    shown = f"coalesce({title}, {offence_code}, {ho_class}, 'unknown offence')"
    return f"(case {whens} else {shown} end)" if whens else shown
