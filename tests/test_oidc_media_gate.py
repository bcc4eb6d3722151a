"""With OIDC sign-in, ``/media/`` (built downloads) needs the signed ``st.login`` cookie of a
signed-in user (``chi.app.server.OidcMediaGate``): without it, with a forged or tampered
one, one signed with another secret, or one of a signed-out user, the answer is 403 and the
app behind never sees the request; pages and other paths pass through untouched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

from chi.app.server import USER_COOKIE, OidcMediaGate

SECRET = "a-cookie-secret-for-the-test"


def signed(payload: dict[str, Any], secret: str = SECRET) -> str:
    return create_signed_value(secret, USER_COOKIE, json.dumps(payload)).decode("latin-1")


def call(path: str, cookie: str | None) -> tuple[int, bool]:
    """The status answered for a GET of ``path`` and whether the app behind was reached."""
    reached: list[bool] = []
    sent: list[MutableMapping[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"file"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers}
    asyncio.run(OidcMediaGate(app, secret=lambda: SECRET)(scope, receive, send))
    return int(sent[0]["status"]), bool(reached)


MEDIA = "/media/0123456789abcdef.csv"
SIGNED_IN = {"origin": "http://127.0.0.1:8501", "is_logged_in": True, "email": "a@b.example"}


def test_a_signed_in_user_gets_the_file() -> None:
    assert call(MEDIA, f"{USER_COOKIE}={signed(SIGNED_IN)}") == (200, True)


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "other=1",
        f"{USER_COOKIE}=" + json.dumps(SIGNED_IN).replace('"', ""),  # unsigned
        f"{USER_COOKIE}={signed(SIGNED_IN, 'another-secret')}",
        f"{USER_COOKIE}={signed({**SIGNED_IN, 'is_logged_in': False})}",
        f"{USER_COOKIE}={signed(SIGNED_IN)[:-3]}xyz",  # tampered signature
    ],
    ids=["none", "unrelated", "unsigned", "other-secret", "signed-out", "tampered"],
)
def test_media_without_a_signed_in_cookie_is_refused(cookie: str | None) -> None:
    assert call(MEDIA, cookie) == (403, False)


def test_pages_and_other_paths_pass_through() -> None:
    assert call("/", None) == (200, True)
    assert call("/_stcore/health", None) == (200, True)


@pytest.mark.parametrize(
    ("demo", "real_server", "is_hardened", "refused"),
    [
        (False, True, False, True),  # production under `streamlit run`
        (False, True, True, False),  # production under chi.app.serve
        (True, True, False, False),  # the demonstration may be served either way
        (False, False, False, False),  # a test harness (AppTest) is no server
    ],
)
def test_production_is_served_only_through_the_hardened_server(
    demo: bool, real_server: bool, is_hardened: bool, refused: bool
) -> None:
    from chi.app.server import unhardened_refusal

    reason = unhardened_refusal(demo, real_server, is_hardened)
    assert (reason is not None) == refused
    if reason:
        assert "uvicorn chi.app.serve:app" in reason and "not `streamlit run`" in reason
