"""The show-as-text helper (``chi.app.text.md``): every Markdown construct in a value comes out
as literal text when rendered by the same Markdown library family (markdown-it, CommonMark)."""

from __future__ import annotations

import string

import pytest
from markdown_it import MarkdownIt

from chi.app.text import md

CASES = [
    "**Bold** [site](http://evil.example)",
    "![i](http://evil.example/p.png)",
    "<img src=http://evil.example/x.png>",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "`code`",
    "&amp; &#x41;",
    "a\\*b",
    "line one\n\n# line two",
    "<http://evil.example>",
    "x|y|z",
    string.punctuation,
]


@pytest.mark.parametrize("value", CASES)
def test_markdown_renders_the_value_as_plain_text(value: str) -> None:
    html = MarkdownIt("commonmark").render(md(value)).strip()
    inner = html.removeprefix("<p>").removesuffix("</p>")
    assert html.startswith("<p>") and "<" not in inner.replace("&lt;", "")
    text = inner.replace("\u2060", "")
    for entity, ch in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        text = text.replace(entity, ch)
    assert text == " ".join(value.split())


def test_shortcodes_are_broken_and_none_is_empty() -> None:
    assert md(":smile:") == "\\:\u2060smile\\:\u2060"
    assert md(":red[x]") == "\\:\u2060red\\[x\\]"
    assert md(None) == ""


def test_a_failed_rerun_keeps_only_the_kind_of_error(tmp_path: object) -> None:
    """The Runs page shows ``job.error``: it must not quote the exception's message, which
    can hold extract values."""
    from pathlib import Path

    from argon2 import PasswordHasher

    from chi.app.jobs import Jobs
    from chi.scoring.policy import Policy
    from chi.state.store import Store

    root = Path(str(tmp_path))
    store = Store(root / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    secret = root / "Jane Doe 1980-01-01"
    job = Jobs().start(store, "ana", root / "runs", secret, Policy(), None)
    for _ in range(600):
        if job.state != "running":
            break
        import time

        time.sleep(0.05)
    assert job.state == "failed"
    assert job.error is not None and "Jane" not in job.error and " " not in job.error
    assert store.audit_log(actions=["rerun_failed"])[0]["detail"] == job.error
