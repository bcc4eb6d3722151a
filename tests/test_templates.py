"""The Jinja2 templates render what the hand-written renderers did, byte for byte.

The golden files in ``tests/golden`` were written by the renderers before the templates
(commit 4a66ce8's ``report.render_html`` and ``card.render_markdown``):

- ``model_card.md`` from ``model_card.json`` (a card of a backtest of a generated extract,
  seed 5, 24 months from 2022-01, scale 0.2, with its unused ``fairness.gaps`` dropped);
- ``model_card_variant.md`` from the same card changed by ``_variant`` below (not synthetic,
  one label not fitted, a leakage failure, no calibration, importance, flags or saved
  models), so the other branches are compared too;
- ``profile_report.html`` from the profile of a generated extract (seed 5, 13 months from
  2023-01, scale 0.1) for 2023, its run id set to ``RUN`` and each chart's SVG cut to
  ``<svg/>`` (the charts are vl-convert's, not the template's). One change was made to it
  by hand when the report became a template: Jinja2's autoescape (markupsafe) spells the
  two quote entities ``&#39;`` and ``&#34;`` where ``html.escape`` wrote ``&#x27;`` and
  ``&quot;`` (the same characters to a browser); the method notes, which markdown-it
  renders, keep ``&quot;``.

If the figures change on purpose, check the difference and write the files again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chi.analysis.document import Profile
from chi.analysis.profile import Request, build_profile
from chi.analysis.report import render_html
from chi.analysis.source import load_run
from chi.forecast.card import render_markdown
from chi.generate import GenerateOptions, generate_extract
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish

GOLDEN = Path(__file__).parent / "golden"


def _card() -> dict[str, Any]:
    card: dict[str, Any] = json.loads((GOLDEN / "model_card.json").read_text(encoding="utf-8"))
    return card


def _variant(card: dict[str, Any]) -> dict[str, Any]:
    v = copy.deepcopy(card)
    v["synthetic"], v["notice"] = False, None
    labels = v["performance"]["models"]
    labels[next(iter(labels))] = {"error": "one class only in the training months"}
    for rep in labels.values():
        if "error" not in rep:
            rep["leakage"] = [{"feature": "days_since_last", "auc": 0.97}]
            rep.pop("chosen", None)
            rep["models"]["gbm"]["calibration"] = {"predicted": [], "observed": []}
    v["performance"]["importance"] = []
    v["fairness"]["flagged"] = []
    v["technical"]["saved_models"] = {}
    return v


def test_model_card_markdown_is_unchanged() -> None:
    expected = (GOLDEN / "model_card.md").read_text(encoding="utf-8")
    assert render_markdown(_card()) == expected


def test_model_card_variant_markdown_is_unchanged() -> None:
    expected = (GOLDEN / "model_card_variant.md").read_text(encoding="utf-8")
    text = render_markdown(_variant(_card()))
    assert text == expected
    assert "SYNTHETIC" not in text and "Not fitted: one class only" in text


def test_model_card_text_is_not_escaped() -> None:
    """Markdown is not HTML: an ampersand or a bracket in the owner's name stays as typed."""
    card = _card()
    card["owner"]["team"] = "Analysis & <Insight>"
    assert "- Team: Analysis & <Insight>\n" in render_markdown(card)


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    tmp = tmp_path_factory.mktemp("templates")
    generate_extract(
        tmp / "extract", GenerateOptions(seed=5, start="2023-01", months=13, scale=0.1)
    )
    run = score_and_publish(tmp / "extract", tmp / "runs", Policy())
    built = build_profile(load_run(open_run(run)), Request.for_period("2023-01:2023-12"))
    return dataclasses.replace(built, meta={**built.meta, "run_id": "RUN"})


def test_profile_report_html_is_unchanged(profile: Profile) -> None:
    expected = (GOLDEN / "profile_report.html").read_text(encoding="utf-8")
    rendered = render_html(profile, "OFFICIAL-SENSITIVE")
    assert rendered.count("<svg") == expected.count("<svg/>") == 13
    assert re.sub(r"<svg.*?</svg>", "<svg/>", rendered, flags=re.S) == expected


def test_profile_report_escapes_its_text(profile: Profile) -> None:
    """Autoescape: a marking or force name with markup is shown as text, never as HTML."""
    marked = dataclasses.replace(profile, meta={**profile.meta, "force": "<b>M&S</b>"})
    rendered = render_html(marked, "<i>SECRET</i>")
    assert "<b>M&S</b>" not in rendered and "&lt;b&gt;M&amp;S&lt;/b&gt;" in rendered
    assert "<i>SECRET</i>" not in rendered
    assert rendered.count("&lt;i&gt;SECRET&lt;/i&gt;") == 2  # the marking, top and foot
