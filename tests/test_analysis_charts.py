"""The DA profile's share charts (DASH grades, outcomes, districts, relationships) are drawn
with room for their labels: rendered by Vega (vl-convert's scenegraph), no two pieces of text
overlap and no category label is cut short."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import polars as pl
import pytest
import vl_convert

from chi.analysis import charts
from chi.analysis.document import Profile
from chi.analysis.report import _vl_version

OUTCOMES = [
    ("Charged or summonsed", 456),
    ("Out-of-court (formal)", 164),
    ("Out-of-court (informal)", 310),
    ("Prosecution prevented or not in the public interest", 44),
    ("Evidential difficulties: suspect identified, victim supports action", 1351),
    ("Evidential difficulties: victim does not support action", 6740),
    ("Further investigation not in the public interest", 5),
    ("Another body, or other", 241),
    ("Not yet assigned (open)", 1608),
]
DASH = [("Standard", 6379), ("Medium", 1965), ("High", 562), ("Not recorded", 2223)]


def _frame(key: str, rows: list[tuple[str, int]]) -> pl.DataFrame:
    total = sum(n for _, n in rows)
    return pl.DataFrame(
        {key: [k for k, _ in rows], "count": [n for _, n in rows]},
    ).with_columns(count_share=pl.col("count") / total)


def _texts(node: Any, ox: float = 0.0, oy: float = 0.0) -> list[dict[str, Any]]:
    """Every text item of a scenegraph with its absolute anchor point."""
    out: list[dict[str, Any]] = []
    if isinstance(node, list):
        for n in node:
            out += _texts(n, ox, oy)
    elif isinstance(node, dict):
        if node.get("marktype") is not None:  # a mark: its items share the offset
            for item in node.get("items", []):
                out += _texts(item, ox, oy)
        elif "text" in node:
            out.append({**node, "ax": ox + node.get("x", 0), "ay": oy + node.get("y", 0)})
        else:  # a group item: offsets its children
            x, y = ox + node.get("x", 0), oy + node.get("y", 0)
            for item in node.get("items", []):
                out += _texts(item, x, y)
    return out


def _box(t: dict[str, Any]) -> tuple[float, float, float, float]:
    """A box around a text item: 0.55 em a character (Helvetica's average is about 0.5),
    one line high; text turned by -90 degrees (an axis title) runs upwards from its anchor,
    its baseline to the right."""
    size = float(t.get("fontSize", 11))
    w, h = 0.55 * size * len(str(t["text"])), size
    align = t.get("align", "left")
    base = t.get("baseline", "alphabetic")
    if abs(float(t.get("angle") or 0)) == 90:
        y0 = {"left": t["ay"] - w, "right": t["ay"], "center": t["ay"] - w / 2}[align]
        x0 = {"top": t["ax"], "middle": t["ax"] - h / 2}.get(base, t["ax"] - h)
        return x0, y0, x0 + h, y0 + w
    x0 = {"left": t["ax"], "right": t["ax"] - w, "center": t["ax"] - w / 2}[align]
    y0 = {"top": t["ay"], "middle": t["ay"] - h / 2, "bottom": t["ay"] - h}.get(base, t["ay"] - h)
    return x0, y0, x0 + w, y0 + h


def _overlaps(texts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    boxes = [(str(t["text"]), _box(t)) for t in texts if str(t["text"]).strip()]
    bad = []
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(boxes):
        for b, (bx0, by0, bx1, by1) in boxes[i + 1 :]:
            if ax0 < bx1 - 0.5 and bx0 < ax1 - 0.5 and ay0 < by1 - 0.5 and by0 < ay1 - 0.5:
                bad.append((a, b))
    return bad


def _render(chart: Any) -> list[dict[str, Any]]:
    sg = vl_convert.vegalite_to_scenegraph(chart.to_json(), vl_version=_vl_version())
    if isinstance(sg, str):
        sg = json.loads(sg)
    return _texts(sg["scenegraph"])


@pytest.mark.parametrize(
    ("build", "profile", "labels"),
    [
        (charts.dash_chart, {"dash": _frame("grade", DASH)}, [k for k, _ in DASH]),
        (charts.outcome_chart, {"outcomes": _frame("group", OUTCOMES)}, [k for k, _ in OUTCOMES]),
    ],
)
def test_share_chart_text_never_overlaps_and_labels_are_whole(
    build: Any, profile: dict[str, pl.DataFrame], labels: list[str]
) -> None:
    texts = _render(build(cast(Profile, SimpleNamespace(**profile))))
    shown = [str(t["text"]) for t in texts]
    assert set(labels) <= set(shown), "every category label is shown whole"
    assert not [s for s in shown if "…" in s]
    assert _overlaps(texts) == []


def test_overlap_check_sees_overlapping_text() -> None:
    a = {"text": "55%", "ax": 100.0, "ay": 10.0, "align": "center", "baseline": "top"}
    b = {"text": "60%", "ax": 110.0, "ay": 10.0, "align": "center", "baseline": "top"}
    c = {"text": "60%", "ax": 140.0, "ay": 10.0, "align": "center", "baseline": "top"}
    assert _overlaps([a, b]) == [("55%", "60%")]
    assert _overlaps([a, c]) == []
