"""Named groups of offences, defined by Home Office classification, for masking and reporting.

Some offence detail is too sensitive to show to everyone who may see a list: by default a
neighbourhood team sees a sexual offence only as "sexual offence", never its title. Which
offences belong to a group is decided here, once, by the Home Office classification number
(the digits that start the classification code: ``19`` of ``19C``, ``88`` of ``88A``), read
from the offence key's group (the part of ``offence_code`` before its first ``.``, as in the
CHI sheet's ``classification_code``) or, when there is no offence key, from ``ho_class``
(``CCC/SS``). The same rule is available as a Python function and as a SQL expression, and
a test checks that the two agree over every row of the weight sets.

Groups are reference data: one row each of ``data/offences/groups.csv`` (name, label, Home
Office classes, codes, subclasses, excluded subclasses, description), read once into the
registry ``GROUPS``, so that more can be added by name (domestic abuse, child sexual abuse
and exploitation, serious sexual offences, rape, modern slavery) and chosen in configuration
(``restricted_groups``).

A group finer than whole classes also lists Home Office offence codes (``codes``: the
offence key's group, e.g. ``19D``, compared exactly) and class/subclasses (``subclasses``,
``CCC/SS``: the crime's ``ho_class``, else the offence key's class and subclass, its
third- and second-last parts, ``86.86.2.0`` → ``086/02``), and may leave subclasses out
(``excluded``). A crime is in the group when its classification number is in ``classes``,
or its code is in ``codes``, or its subclass is in ``subclasses``, and its subclass is not
excluded. The board's "Safeguarding the Vulnerable" groups (rows of the file; domestic
abuse is a flag on the crime, not a group of offences):

- ``rape``: class 19 (19C-19J), rape and attempted rape of a female or male of any age.
- ``serious_sexual_offences``: classes 17 and 20 (sexual assault on a male or female,
  including by penetration), 19 (rape), 21 and 22 (sexual activity with a child under 13 or
  16; causing sexual activity without consent), 23 (familial child sexual offences, not
  023/12-13, sex with an adult relative) and 70 (sexual activity with a person with a mental
  disorder).
- ``child_sexual_abuse_exploitation``: offences whose Home Office code names a child:
  classes 21 (child under 13), 23 (familial child sexual offences, not 023/12-13), 71
  (sexual exploitation of children) and 73 (abuse of position of trust); codes 17B and 20B
  (sexual assault of a child under 13, including by penetration), 19D, 19E, 19G, 19H (rape
  of a child under 16 or 13), 22B (sexual activity with a child under 16) and 88A (sexual
  grooming, sexual communication with a child); indecent images of children 086/02, 086/10,
  086/15.
- ``modern_slavery_trafficking``: 106 (Modern Slavery Act 2015: slavery, servitude, forced
  labour, human trafficking; in the CHI sheet key ``99.99.25.0``, subclass 099/25) and 72
  (trafficking for sexual exploitation, the code before 2015).
- ``fraud``: classes 51, 52 and 53 (fraud by company director, false accounting, the Fraud
  Act offences, including Action Fraud's 53A-53J) and 814 (fraud and forgery with vehicle
  and driver records); codes 33A (articles for use in fraud) and NFIB (Action Fraud
  outcome-only keys).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chi.reference import calibration_path, data_dir, offence_rules_path


@dataclass(frozen=True)
class OffenceGroup:
    name: str
    """Registry key, as written in configuration (``sexual_offences``)."""
    label: str
    """What is shown instead of the offence's own title when the group is restricted."""
    classes: frozenset[int]
    """Home Office classification numbers in the group."""
    description: str = ""
    codes: frozenset[str] = frozenset()
    """Home Office offence codes (the offence key's group, e.g. ``19D``) in the group."""
    subclasses: frozenset[str] = frozenset()
    """Home Office class/subclasses (``CCC/SS``) in the group."""
    excluded: frozenset[str] = frozenset()
    """Class/subclasses left out even when the class, code or subclass matches."""


def _words(text: str | None) -> frozenset[str]:
    return frozenset((text or "").split())


def load_groups() -> dict[str, OffenceGroup]:
    """The registry, in file order, from ``data/offences/groups.csv`` (one row a group; the
    numbers, codes and subclasses of a cell separated by spaces)."""
    path = data_dir() / "offences" / "groups.csv"
    groups: dict[str, OffenceGroup] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            group = OffenceGroup(
                name=row["name"],
                label=row["label"],
                classes=frozenset(int(n) for n in _words(row["classes"])),
                description=row["description"],
                codes=_words(row["codes"]),
                subclasses=_words(row["subclasses"]),
                excluded=_words(row["excluded"]),
            )
            if group.name in groups:
                raise ValueError(f"{path}: offence group {group.name!r} is listed twice")
            groups[group.name] = group
    return groups


GROUPS: dict[str, OffenceGroup] = load_groups()
SEXUAL_OFFENCES = GROUPS["sexual_offences"]
"""The group restricted by default (``lists.restricted_groups``)."""

_LEADING_DIGITS = re.compile(r"\s*([0-9]+)")


def classification_number(offence_code: str | None, ho_class: str | None) -> int | None:
    """The Home Office classification number of an offence, or None when neither field has one."""
    for text in ((offence_code or "").split(".", 1)[0], ho_class or ""):
        m = _LEADING_DIGITS.match(text)
        if m:
            return int(m.group(1))
    return None


_SUBCLASS = re.compile(r"\s*([0-9]{1,3})/([0-9]{1,2})\s*")
_KEY_CLASS = re.compile(r"[0-9]{1,3}")
_KEY_SUBCLASS = re.compile(r"[0-9]{1,2}")


def subclass_of(offence_code: str | None, ho_class: str | None) -> str | None:
    """``CCC/SS`` from ``ho_class``, else from the offence key's third- and second-last parts."""
    m = _SUBCLASS.fullmatch(ho_class or "")
    if m:
        return f"{int(m.group(1)):03d}/{int(m.group(2)):02d}"
    parts = (offence_code or "").strip().split(".")
    if len(parts) >= 4 and _KEY_CLASS.fullmatch(parts[-3]) and _KEY_SUBCLASS.fullmatch(parts[-2]):
        return f"{int(parts[-3]):03d}/{int(parts[-2]):02d}"
    return None


def offence_code_of(offence_code: str | None) -> str | None:
    """The Home Office offence code of an offence key: its group (``19D`` of ``19D.19.7.0``)."""
    code = (offence_code or "").split(".", 1)[0].strip().upper()
    return code or None


def in_group(group: OffenceGroup, offence_code: str | None, ho_class: str | None) -> bool:
    """Whether the offence belongs to ``group`` (the rule in the module docstring)."""
    sub = subclass_of(offence_code, ho_class)
    if sub is not None and sub in group.excluded:
        return False
    n = classification_number(offence_code, ho_class)
    return (
        (n is not None and n in group.classes)
        or offence_code_of(offence_code) in group.codes
        or (sub is not None and sub in group.subclasses)
    )


def groups_of(offence_code: str | None, ho_class: str | None) -> list[str]:
    """Names of the registered groups the offence belongs to, in registry order."""
    return [g.name for g in GROUPS.values() if in_group(g, offence_code, ho_class)]


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


def group_params(groups: Iterable[OffenceGroup]) -> list[dict[str, Any]]:
    """Offence groups as a bound query parameter: a list of structs (label, classes, codes,
    subclasses, excluded) that the SQL macro ``in_offence_group``
    (``sql/reference/in_group_macro.sql``) reads as ``in_group`` does; in the given order."""
    return [
        {
            "label": g.label,
            "classes": sorted(g.classes),
            "codes": sorted(g.codes),
            "subclasses": sorted(g.subclasses),
            "excluded": sorted(g.excluded),
        }
        for g in groups
    ]


_HO_CLASS = re.compile(r"0*([0-9]{1,3})\s*/\s*0*([0-9]{1,2})")
_HO_CLASS_DIGITS = re.compile(r"([0-9]{3})([0-9]{2})")


def normal_ho_class(text: str | None) -> str | None:
    """A Home Office class/subclass in its canonical spelling ``CCC/SS``, or None.

    Forces write one class several ways: ``8/1``, ``08/01``, ``008/01``, ``8/01`` and the
    slash-less ``00801`` are all ``008/01``. The same rule in SQL is the ``norm_ho_class``
    macro (``sql/staging/ho_class_macro.sql``); a test checks that the two agree.
    """
    value = (text or "").strip()
    m = _HO_CLASS.fullmatch(value)
    if m:
        return f"{int(m.group(1)):03d}/{int(m.group(2)):02d}"
    m = _HO_CLASS_DIGITS.fullmatch(value)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    return None


def offence_names() -> dict[str, str]:
    """A readable name for each offence code a crime can be shown by when it has no offence
    key of the weight set (so no title): Home Office classes ``CCC/SS``, retired classes and
    Home Office offence codes (``8N``, ``4/4``: the key's group, upper-cased).

    A class holding one offence of the CHI sheet is named by that offence's title; a class
    holding several by its typical offence (``data/offences/class_typical.csv``) and the
    class, ``"Rape of a female (16 or over) (Indictable) or similar (class 019/08)"``, so the
    name never claims more than the class says. A retired class is named as its successor,
    with the class recorded; an offence code by its Home Office description
    (``data/calibration/offence_mix_2017_18.csv``).
    """
    names: dict[str, str] = {}
    with calibration_path("offence_mix_2017_18.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            for code in (r["chi_classification_codes"] or "").split():
                names.setdefault(code.strip().upper(), r["description"].strip())
    with offence_rules_path("class_typical").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            title, cls = r["title"].strip(), r["ho_class"]
            names[cls] = title if r["keys_in_class"] == "1" else f"{title} or similar (class {cls})"
    with offence_rules_path("retired_subclasses").open(newline="", encoding="utf-8") as fh:
        retired = list(csv.DictReader(fh))
    for r in retired:
        successor = names.get(r["successor"])
        if successor is not None and r["retired"] not in names:
            names[r["retired"]] = f"{successor} (retired class {r['retired']})"
    return names
