"""Data text is shown as text in a real browser: people named with Markdown and HTML payloads
(links, images, directives, icons, maths, raw HTML) appear literally on the victim list's
button, the person view, the sidebar and the area meeting page, no link or image is made of
them, and no request leaves for the address they name.

Chromium resolves no host but the loopback address (``--host-resolver-rules``) and every
request the page makes is recorded and, unless it is to the app itself, aborted, so the test
never sends traffic anywhere; it asserts the list of such requests is empty.
"""

from __future__ import annotations

import csv
import io
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from app_fixtures import (
    MONTHS,
    PASSWORD,
    TEST_POLICY,
    USERS,
    _rows,
    write_config,
)
from factory import write_extract
from test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port, _missing, serving

from chi.meetings.decisions import Decision, save_decision
from chi.reading.lists import victim_list
from chi.scoring.runs import open_run, score_and_publish
from chi.state.auth import make_user
from chi.state.store import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None, reason=f"browser test skipped: {_missing()}"),
]

EVIL = "evil.example"
PAYLOADS = [
    f"**Bold** [site](http://{EVIL}/a) _it_",
    f"![i](http://{EVIL}/p.png)",
    f"<img src=http://{EVIL}/h.png onerror=alert(1)>",
    ":red[Red] :material/home: :smile: $x^2$",
    f"www.{EVIL}/w <b>b</b> &amp;",
    f"# Heading [x]: http://{EVIL}/ref",
]
NOTES = f"Note ![n](http://{EVIL}/note.png) **loud** <script>alert(1)</script>"


@dataclass(frozen=True)
class Served:
    url: str
    root: Path
    names: dict[str, str]


def _payload_rows() -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    rows = _rows(random.Random(42))
    names: dict[str, str] = {}
    for i, p in enumerate(rows["persons"]):
        if p["person_type"] == "individual":
            p["name"] = f"{PAYLOADS[i % len(PAYLOADS)]} {i}"
            names[p["person_id"]] = p["name"]
    return rows, names


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from app_fixtures import FAST_HASHER_ARGS, Fixture
    from argon2 import PasswordHasher

    root = tmp_path_factory.mktemp("markup")
    rows, names = _payload_rows()
    extract = write_extract(root / "extract", **rows, as_of="2024-12-31")
    path = score_and_publish(extract, root / "runs", TEST_POLICY, MONTHS)
    run = open_run(path)
    fixture = Fixture(extract, root / "runs", run.run_id, list(run.manifest.months))
    config = write_config(root, fixture)
    store = Store(root / "state.sqlite", hasher=PasswordHasher(**FAST_HASHER_ARGS))
    for username, (role, scope) in USERS.items():
        store.add_user(username, PASSWORD, role, scope)
    # A decision with markup in its notes, service and owner for everyone on North's list.
    month = fixture.months[-2]
    north = victim_list(run, month, make_user("north", "area", "North").scope)
    for pid in north["person_id"]:
        save_decision(
            store,
            Decision(
                "victim",
                pid,
                month,
                "North",
                date(2024, 11, 20),
                "signpost",
                service=f"[svc](http://{EVIL}/s)",
                owner="**owner**",
                notes=NOTES,
                review_date=date(2024, 12, 1),
            ),
            based_on=0,
            recorded_by="north",
        )
    port = _free_port()
    # Through chi's hardened server (chi.app.serve), as a deployment serves it, from a folder
    # that is not the checkout.
    command = [sys.executable, "-m", "uvicorn", "chi.app.serve:app", "--host", "127.0.0.1"]
    with serving(
        [*command, "--port", str(port)],
        root / "server.log",
        port,
        env={**os.environ, "CHI_CONFIG": str(config)},
        cwd=root,
    ) as url:
        yield Served(url, root, names)


@dataclass
class Browser:
    context: Any
    outside: list[str]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def guard(route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-markup")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
            viewport={"width": 1500, "height": 1000},
        )
        context.route("**/*", guard)
        try:
            yield Browser(context, outside)
        finally:
            context.close()


def _sign_in(page: Any, url: str, username: str, password: str = PASSWORD) -> None:
    page.context.clear_cookies()  # sign in afresh: the context keeps the last session's cookie
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _visible_text(page: Any) -> str:
    text: str = page.locator("section.stMain, [data-testid='stMain']").first.inner_text()
    text += page.locator("[data-testid='stSidebar']").first.inner_text()
    return " ".join(text.replace("\u2060", "").split())


def _nothing_rendered(page: Any, browser: Browser) -> None:
    main = page.locator("[data-testid='stMain'], [data-testid='stSidebar']")
    assert main.locator(f"a[href*='{EVIL}']").count() == 0
    assert main.locator(f"img[src*='{EVIL}']").count() == 0
    assert page.locator(f"[src*='{EVIL}'], [href*='{EVIL}']").count() == 0
    assert page.locator(".katex").count() == 0, "no maths rendered"
    for level in range(1, 7):
        headings = page.locator(f"[data-testid='stMarkdownContainer'] h{level}")
        assert headings.filter(has_text="Heading").count() == 0, "no heading made of a name"
    assert page.locator("[data-testid='stMarkdownContainer'] script").count() == 0
    assert browser.outside == [], f"requests left the machine: {browser.outside}"


def _person_in(root: Path, username: str, names: dict[str, str]) -> tuple[str, str]:
    run = open_run(root / "runs")
    month = run.manifest.months[-1]
    role, scope = USERS[username]
    listed = victim_list(run, month, make_user(username, role, scope).scope)
    ids = [p for p in listed["person_id"] if p in names]
    assert ids
    return ids[0], month


def test_victim_list_button_shows_the_name_as_text(served: Served, browser: Browser) -> None:
    page = browser.context.new_page()
    _sign_in(page, served.url, "sergeant")
    page.get_by_text("people listed for").wait_for(timeout=60_000)
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for(timeout=30_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    button = page.get_by_role("button", name="Open the person view for")
    button.wait_for(timeout=30_000)
    label = " ".join(button.inner_text().replace("\u2060", "").split())
    shown = label.removeprefix("Open the person view for ").strip()
    assert shown in {" ".join(n.split()) for n in served.names.values()}, label
    assert button.locator("strong, em, a, img, code, span[class*='katex']").count() == 0
    _nothing_rendered(page, browser)
    page.close()


def test_person_view_shows_markup_names_as_text(served: Served, browser: Browser) -> None:
    page = browser.context.new_page()
    for username in ("sergeant", "peterborough"):
        person_id, month = _person_in(served.root, username, served.names)
        page.context.clear_cookies()
        _sign_in(page, f"{served.url}/person?person={person_id}&month={month}", username)
        page.get_by_role("heading", name="Person", exact=True).wait_for(timeout=60_000)
        want = " ".join(served.names[person_id].split())
        page.get_by_text(f"Person id {person_id}").wait_for(timeout=30_000)
        assert want in _visible_text(page)
        heading = page.locator("h2").filter(has_text=str(person_id.lstrip("V0") or "0"))
        assert heading.count() >= 1
        _nothing_rendered(page, browser)
    page.close()


def test_meeting_page_shows_names_notes_and_services_as_text(
    served: Served, browser: Browser
) -> None:
    page = browser.context.new_page()
    _sign_in(page, f"{served.url}/meeting", "north")
    page.get_by_role("heading", name="Victim meeting: North area").wait_for(timeout=60_000)
    page.get_by_text("Record decisions").wait_for(timeout=30_000)
    text = _visible_text(page)
    assert any(" ".join(n.split()) in text for n in served.names.values()), text[:2000]
    page.get_by_text("Decision history").click()
    page.wait_for_timeout(1500)
    _nothing_rendered(page, browser)
    page.close()


def test_a_download_through_the_hardened_server_arrives_and_is_audited(
    served: Served, browser: Browser
) -> None:
    page = browser.context.new_page()
    _sign_in(page, served.url, "sergeant")
    page.get_by_text("people listed for").wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="CSV").click()
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(data, newline="")))
    assert header[-2:] == ["Run", "Handling"] and rows
    assert all(r[-1] == "OFFICIAL-SENSITIVE" for r in rows)
    entries = Store(served.root / "state.sqlite").audit_log(username="sergeant")
    details = [e["detail"] for e in entries if e["action"] == "download"]
    assert len(details) == 1 and details[0].split(";")[0] == "csv"
    assert browser.outside == []
    page.close()


def test_a_session_survives_refresh_and_new_tabs_and_ends_everywhere(
    served: Served, browser: Browser
) -> None:
    """The cookie session: F5 and a new tab stay signed in; a new password (as
    ``chi users set-password`` sets it) signs every tab out at the next action; the cookie
    is not readable by scripts; signing out clears it."""
    browser.context.clear_cookies()
    page = browser.context.new_page()
    _sign_in(page, served.url, "abbey")
    page.get_by_text("people listed for").wait_for(timeout=60_000)
    cookie = next(c for c in browser.context.cookies() if c["name"] == "chi_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("chi_session") == -1
    page.reload()
    page.get_by_text("people listed for").wait_for(timeout=60_000)
    other = browser.context.new_page()
    other.goto(f"{served.url}/person", wait_until="domcontentloaded")
    other.get_by_role("heading", name="Person", exact=True).wait_for(timeout=60_000)
    Store(served.root / "state.sqlite").set_password("abbey", "plinth marmalade otter kite")
    other.reload()
    other.get_by_label("Username").wait_for(timeout=30_000)
    assert "/_chi/signin" in other.url
    # Sign in again, then sign out from the sidebar: the cookie goes, F5 asks again.
    _sign_in(other, served.url, "abbey", "plinth marmalade otter kite")
    other.get_by_text("people listed for").wait_for(timeout=60_000)
    other.get_by_role("button", name="Sign out").click()
    other.get_by_text("You have signed out.").wait_for(timeout=30_000)
    other.reload()
    other.get_by_label("Username").wait_for(timeout=30_000)
    assert not [c for c in browser.context.cookies() if c["name"] == "chi_session"]
    page.reload()
    page.get_by_label("Username").wait_for(timeout=30_000)
    entries = [e["action"] for e in Store(served.root / "state.sqlite").audit_log(username="abbey")]
    assert entries.count("sign_in") == 2 and "sign_out" in entries
    page.close()
    other.close()
