"""Month arithmetic: every list, window and review is counted in calendar months.

A month is written ``YYYY-MM`` and held as the ``date`` of its first day; these are the only
functions that turn one into the other or count forward and back.
"""

from __future__ import annotations

from datetime import date, timedelta


def parse_month(text: str) -> date:
    try:
        y, m = text.strip().split("-")
        return date(int(y), int(m), 1)
    except ValueError:
        raise ValueError(f"month {text!r} is not YYYY-MM") from None


def month_label(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def add_months(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


def parse_months(spec: str) -> list[str]:
    """``2024-01:2024-12`` (inclusive) or a single ``2024-06``."""
    first, _, last = spec.partition(":")
    a = parse_month(first)
    b = parse_month(last) if last else a
    if b < a:
        raise ValueError(f"month range {spec!r} ends before it starts")
    if a.year < 1900 or b.year > 2999:
        raise ValueError(f"month range {spec!r} must lie between 1900-01 and 2999-12")
    out = []
    while a <= b:
        out.append(month_label(a))
        a = add_months(a, 1)
    return out
