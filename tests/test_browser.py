"""The app in a real browser: ``chi demo`` serves it, headless Chromium (Debian's package,
driven by Playwright) signs in as the demo sergeant, opens the list, downloads the XLSX and
checks its rows against the run, and saves a screenshot.

Needs ``/usr/bin/chromium`` and the ``playwright`` package (the dev extra); CI installs
Chromium. Without them the tests are skipped with a message saying what is missing. Set
``CHI_SCREENSHOT_DIR`` to keep the screenshots somewhere other than the test's temp folder.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import shared_fixture

from chi.exports import listview
from chi.reading.lists import victim_briefing
from chi.scoring.runs import open_run
from chi.state.auth import make_user
from chi.state.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return (
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium); "
            "CI installs it in .ci/run"
        )
    return None


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None, reason=f"browser test skipped: {_missing()}"),
]


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chi demo exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the app did not come up at {url} in {seconds}s")


@contextmanager
def serving(
    command: list[str], log_path: Path, port: int, env: dict[str, str], cwd: Path | None = None
) -> Iterator[str]:
    """Run a server command (``chi demo``, uvicorn) in its own process group until it answers
    at its URL, yield the URL, then end the whole group: ``chi demo`` serves through a child
    process, which terminating ``chi`` alone would leave running."""
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_up(url, proc)
            yield url
        finally:
            _end_group(proc)


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``chi demo`` on the fixture extract (copied in, so nothing is generated)."""
    fixture = shared_fixture(tmp_path_factory)
    folder = tmp_path_factory.mktemp("browser") / "demo"
    shutil.copytree(fixture.extract, folder / "extract")
    port = _free_port()
    with serving(
        [sys.executable, "-m", "chi", "demo", "--folder", str(folder), "--port", str(port)],
        folder.parent / "server.log",
        port,
        env={k: v for k, v in os.environ.items() if k != "CHI_CONFIG"},
    ) as url:
        yield Served(url, folder)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            accept_downloads=True,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHI_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page: Any, url: str, username: str, password: str) -> None:
    page.context.clear_cookies()  # a signed-in session outlives the page (cookie sessions)
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sergeant_downloads_the_neighbourhood_list(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    page = browser.new_page()
    _sign_in(page, served.url, "sergeant", "demo")
    heading = page.get_by_role("heading", name="Victim list:")
    heading.wait_for(timeout=60_000)
    page.get_by_text("people listed for").wait_for(timeout=30_000)

    store = Store(served.folder / "state.sqlite")
    account = store.account("sergeant")
    assert account is not None
    scope = make_user("sergeant", account.role, account.scope).scope
    run = open_run(served.folder / "runs")
    month = run.manifest.months[-1]
    rule = run.manifest.policy["specialist_rule"]
    want = listview.select(
        victim_briefing(run, month, scope), listview.ListView(specialist_rule=rule)
    )
    assert not want.is_empty()

    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Excel (XLSX)").click()
    download = info.value
    assert download.suggested_filename.startswith(f"chi-victims-{month}-")
    data = Path(download.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    ids: list[str] = []
    assert book.sheetnames[0] == "Everyone"
    for sheet in book.worksheets:
        if sheet.title == "run metadata":
            meta = dict(sheet.iter_rows(values_only=True))
            continue
        assert sheet.cell(1, 1).value == "OFFICIAL-SENSITIVE"
        header = [c.value for c in sheet[2]]
        col = header.index("Person id")
        rows = [str(r[col]) for r in sheet.iter_rows(min_row=3, values_only=True)]
        if sheet.title == "Everyone":
            ids = rows
    assert ids == want["person_id"].to_list(), "the list as the page shows it, in its order"
    assert meta["exported by"] == "sergeant" and meta["month"] == month
    assert meta["run id"] == run.run_id

    downloads = store.audit_log(username="sergeant", actions=["download"])
    assert downloads and downloads[0]["rows"] == len(ids)
    assert downloads[0]["detail"] == "xlsx; the list to act on"

    shot = _screenshot_dir(tmp_path) / "sergeant-victim-list.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


@pytest.mark.parametrize(("path", "heading"), [("runs", "Runs"), ("audit", "Audit log")])
def test_a_page_outside_the_role_cannot_be_opened_by_url(
    served: Served, browser: Any, path: str, heading: str
) -> None:
    page = browser.new_page()
    _sign_in(page, f"{served.url}/{path}", "sergeant", "demo")
    page.get_by_role("heading", name="Victim list:").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name=heading, exact=True).count() == 0
    page.close()


def test_a_link_to_a_list_leads_there_after_signing_in(served: Served, browser: Any) -> None:
    run = open_run(served.folder / "runs")
    month = run.manifest.months[-2]
    page = browser.new_page()
    _sign_in(page, f"{served.url}/person?month={month}", "sergeant", "demo")
    page.get_by_role("heading", name="Person", exact=True).wait_for(timeout=60_000)
    page.get_by_text(f"for {month}").first.wait_for(timeout=30_000)
    page.close()
