"""OIDC sign-in end to end in a real browser: a local OpenID Connect provider
(``oidc-provider-mock``, a provider made for tests) issues ID tokens with chi's role and scope
claims, the hardened server (``st.App`` with chi's middleware) signs the person in through
``st.login``, and chi maps the claims: an area lead reaches their area's list; a token with
no role is refused with a message and shown no list."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import shared_fixture, write_config
from test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port, _missing, serving

from chi.state.store import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None, reason=f"browser test skipped: {_missing()}"),
]

SERVER = """
from streamlit.starlette import App

from chi.app.server import APP_SCRIPT, hardening

app = App(str(APP_SCRIPT), secrets={secrets!r}, **hardening())
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(
            sub="north.lead",
            claims={"email": "north.lead@force.example", "chi_role": "area", "chi_area": "North"},
        ),
        User(sub="no.role", claims={"email": "no.role@force.example"}),
    ]
    root = tmp_path_factory.mktemp("oidc")
    config = write_config(root, shared_fixture(tmp_path_factory), extra='[auth]\nmode = "oidc"\n')
    with run_server_in_thread(user_claims=users) as provider:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        secrets = {
            "auth": {
                "redirect_uri": f"{url}/oauth2callback",
                "cookie_secret": "a test secret that is long enough to sign cookies",
                "client_id": "chi",
                "client_secret": "chi-secret",
                "server_metadata_url": (
                    f"http://127.0.0.1:{provider.server_port}/.well-known/openid-configuration"
                ),
            }
        }
        (root / "oidc_serve.py").write_text(SERVER.format(secrets=secrets), encoding="utf-8")
        with serving(
            [sys.executable, "-m", "uvicorn", "oidc_serve:app", "--app-dir", str(root),
             "--host", "127.0.0.1", "--port", str(port)],
            root / "server.log",
            port,
            env={**os.environ, "CHI_CONFIG": str(config), "AUTHLIB_INSECURE_TRANSPORT": "1"},
            cwd=root,
        ):  # fmt: skip
            yield url, root


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _sign_in_as(page: Any, url: str, sub: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=sub).click(timeout=60_000)


def test_an_area_lead_signs_in_through_the_provider(served: tuple[str, Path], page: Any) -> None:
    url, root = served
    _sign_in_as(page, url, "north.lead")
    page.get_by_role("heading", name="Victim list: North area").wait_for(timeout=60_000)
    entries = Store(root / "state.sqlite").audit_log(username="north.lead@force.example")
    assert any(e["action"] == "sign_in" and e["detail"] == "oidc" for e in entries)


def test_a_token_with_no_role_is_refused(served: tuple[str, Path], page: Any) -> None:
    url, _ = served
    _sign_in_as(page, url, "no.role")
    page.get_by_text("You are signed in, but chi cannot give you access").wait_for(timeout=60_000)
    assert page.get_by_text("chi_role").count() >= 1
    assert page.locator("[data-testid='stDataFrame']").count() == 0
    assert page.get_by_role("heading", name="Victim list").count() == 0
