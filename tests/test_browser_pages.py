"""Every page of every demo account in a real browser at 1440 px: no error, content on every
page, and the key columns of the lists in view without scrolling sideways.

``chi demo`` prepares its folder (a generated extract with a known engagement effect, at a
quarter of the demo's scale so the test stays bounded; the run; the backtest and forecast
model; the meeting decisions; the demo accounts) and serves it; headless Chromium (Debian's
package, driven by Playwright) signs in as each account and opens each page from the
sidebar. Set ``CHI_DEMO_FOLDER`` to a folder ``chi demo --no-serve`` has prepared to reuse
it (it is served, never changed); ``CHI_SCREENSHOT_DIR`` keeps the screenshots.

Key columns: the pages declare them (``KEY_COLUMNS``) with pixel widths in their column
configuration. The browser gives each table's header order and its total content width;
the test checks that the rendered total is the configured widths' sum (so the widths are
what is drawn) and that the last key column ends inside the visible width.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_FLAGS, Served, _free_port, _missing, serving

from chi.state.auth import make_user
from chi.state.store import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None, reason=f"browser test skipped: {_missing()}"),
]

WIDTH = 1440
ACCOUNTS = ("sergeant", "north", "south", "analyst", "admin")
# Words that mean a page opened without its content.
EMPTY = (
    "No lists yet",
    "This run cannot be read",
    "There is no backtest for this run yet",
    "No forecast model for this run yet",
    "Nobody in this scope is on the list",
    "This page is not available",
)
IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-testid="stSpinner"]')"""


def _prepare(folder: Path) -> None:
    from chi.generate import GenerateOptions, generate_extract

    generate_extract(
        folder / "extract",
        GenerateOptions(seed=1, start="2022-01", months=48, scale=0.25, engagement_effect=0.3),
    )
    env = {k: v for k, v in os.environ.items() if k != "CHI_CONFIG"}
    subprocess.run(
        [sys.executable, "-m", "chi", "demo", "--folder", str(folder), "--no-serve"],
        check=True,
        env=env,
        capture_output=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    given = os.environ.get("CHI_DEMO_FOLDER")
    if given:
        folder = Path(given)
    else:
        folder = tmp_path_factory.mktemp("demo-pages") / "demo"
        _prepare(folder)
    port = _free_port()
    with serving(
        [sys.executable, "-m", "chi", "demo", "--folder", str(folder), "--port", str(port)],
        tmp_path_factory.mktemp("demo-log") / "server.log",
        port,
        env={k: v for k, v in os.environ.items() if k != "CHI_CONFIG"},
    ) as url:
        yield Served(url, folder)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-pages")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": WIDTH, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _idle(page: Any) -> None:
    """Wait until the app has finished drawing (no running script, skeleton or spinner)
    and stays so for a moment."""
    deadline = time.monotonic() + 120
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        page.wait_for_timeout(400)
        quiet = quiet + 1 if page.evaluate(IDLE) else 0
    assert quiet >= 3, "the page did not finish drawing in 120 s"


def _sign_in(page: Any, url: str, username: str) -> None:
    page.context.clear_cookies()  # a signed-in session outlives the page (cookie sessions)
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=60_000)
    _idle(page)


def _tables(page: Any) -> list[dict[str, Any]]:
    """Each table's header texts, total content width and visible width (the headers are
    read from the grid's accessibility table, which is filled once the grid is drawn)."""
    script = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(df => {
        const sc = df.querySelector('.dvn-scroller');
        return {headers: [...df.querySelectorAll('th')].map(t => t.textContent),
                total: sc ? sc.scrollWidth : 0, visible: sc ? sc.clientWidth : 0};
    })"""
    for _ in range(20):
        found = page.evaluate(script)
        if all(t["headers"] or not t["total"] for t in found):
            return list(found)
        page.wait_for_timeout(300)
    return list(page.evaluate(script))


def _widths(config: dict[str, Any]) -> dict[str, int]:
    return {
        c["label"]: int(c["width"])
        for c in config.values()
        if isinstance(c, dict) and isinstance(c.get("width"), int)
    }


def _key_columns(path: str) -> tuple[dict[str, int], tuple[str, ...]] | None:
    from chi.app.pages import meeting, offenders, person, profile, victims

    if path == "victims":
        return _widths(victims.COLUMNS), victims.KEY_COLUMNS
    if path == "offenders":
        return _widths(offenders.COLUMNS), offenders.KEY_COLUMNS
    if path == "meeting":
        return _widths(meeting.COHORT_COLUMNS), meeting.KEY_COLUMNS
    if path == "profile":
        return _widths(profile.BOARD_CONFIG), profile.KEY_COLUMNS
    if path == "person":  # the months-on-the-list table (its first header is "Month")
        return _widths(person.LISTING_COLUMNS), person.KEY_COLUMNS
    return None


SELECTION = 45  # at most the width of the row-selection column some tables have


def _check_key_columns(path: str, tables: list[dict[str, Any]], where: str) -> None:
    """The grid draws only the columns that reach into view; every key column must be
    among them and must end inside the visible width (its configured left neighbours,
    itself and a selection column, if any, summed)."""
    spec = _key_columns(path)
    if spec is None:
        return
    widths, keys = spec
    table = next(t for t in tables if keys[0] in t["headers"])
    headers = table["headers"]
    assert all(h in widths for h in headers), f"{where}: a column without a pixel width"
    if table["total"] <= table["visible"]:  # every column drawn: the widths are the drawn ones
        configured = sum(widths[h] for h in headers)
        assert 0 <= table["total"] - configured <= SELECTION, f"{where}: widths not as configured"
    else:  # the grid stops drawing at the first column wholly out of view
        assert sum(widths[h] for h in headers[:-1]) <= table["visible"], f"{where}: widths"
    present = [k for k in keys if k in headers]
    assert present, f"{where}: no key column in view"
    last = max(headers.index(k) for k in present)
    right = SELECTION + sum(widths[h] for h in headers[: last + 1])
    assert right <= table["visible"], (
        f"{where}: {headers[last]} ends by {right} px, beyond the visible {table['visible']} px"
    )


def _check_page(page: Any, path: str, where: str, shots: Path) -> None:
    _idle(page)
    page.screenshot(path=str(shots / f"{where.replace('/', '-') or 'home'}.png"))
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: an exception"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()}"
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert not [e for e in EMPTY if e in text], f"{where}: opened without content"
    assert page.locator("h1").count() >= 1, f"{where}: no heading"
    content = page.locator(
        '[data-testid="stDataFrame"], [data-testid="stMetric"], [data-testid="stVegaLiteChart"]'
    )
    assert content.count() >= 1, f"{where}: no table, figure or chart"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where}: the page is {overflow} px wider than the window"
    _check_key_columns(path, _tables(page), where)


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHI_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("username", ACCOUNTS)
def test_every_page_of_every_demo_account(
    served: Served, browser: Any, username: str, tmp_path: Path
) -> None:
    account = Store(served.folder / "state.sqlite").account(username)
    assert account is not None
    expected = make_user(username, account.role, account.scope).pages
    page = browser.new_page()
    _sign_in(page, served.url, username)
    links = page.locator('[data-testid="stSidebarNavLink"]')
    paths = [
        str(links.nth(i).get_attribute("href")).rsplit("/", 1)[1] for i in range(links.count())
    ]
    assert [p or expected[0] for p in paths] == list(expected), "the role's pages, in order"
    shots = _shots(tmp_path)
    for path in paths:
        page.locator(f'[data-testid="stSidebarNavLink"][href$="/{path}"]').first.click()
        name = path or expected[0]
        _check_page(page, name, f"{username}/{name}", shots)
    if username == "analyst":
        page.locator('[data-testid="stSidebarNavLink"]').first.click()
        _idle(page)
        page.get_by_text("Show the forecast column").click()
        _check_page(page, "victims", "analyst/victims-forecast", shots)
        headers = [h for t in _tables(page) for h in t["headers"]]
        assert "Forecast" in headers, "the forecast column is shown"
    page.close()


def test_the_demo_is_prepared_for_every_page(served: Served) -> None:
    from chi.forecast.saved import BACKTEST_FILE, default_model_dir
    from chi.meetings.decisions import for_meeting
    from chi.scoring.runs import current_run_id, open_run

    run = open_run(served.folder / "runs")
    assert current_run_id(served.folder / "runs") == run.run_id
    assert (default_model_dir(run) / BACKTEST_FILE).is_file(), "a backtest"
    assert any(default_model_dir(run).glob("*/model.json")), "a trained forecast model"
    store = Store(served.folder / "state.sqlite")
    months = run.manifest.months
    assert sum(for_meeting(store, "victim", m).height for m in months[-6:]) > 0, "decisions"
    assert run.manifest.partial_months == [], "whole windows only"
