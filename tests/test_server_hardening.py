"""chi's hardened server (``uvicorn chi.app.serve:app``), over HTTP and WebSocket on 127.0.0.1: the
security headers, no-store caching, the metrics endpoint closed, the host allow-list, the
WebSocket origin check, and a production configuration with demo accounts refused at
start-up with a non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import ARBURY, make_app_env, shared_fixture

from chi.state.passwords import PasswordPolicy
from chi.state.store import Store

SERVE = [sys.executable, "-m", "uvicorn", "chi.app.serve:app", "--host", "127.0.0.1"]
"""The hardened server as a deployment starts it (from the configuration's folder)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=config.parent,
        env={**os.environ, "CHI_CONFIG": str(config)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = make_app_env(tmp_path_factory.mktemp("serve"), shared_fixture(tmp_path_factory))
    port = _free_port()
    proc = _serve(env.config, port, env.root / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (env.root / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.3)
        yield url
    finally:
        _stop(proc)


def get(url: str, host: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/_stcore/host-config"])
def test_every_response_refuses_framing_and_caching(server: str, path: str) -> None:
    status, headers = get(server + path)
    assert status == 200
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-security-policy"] == "frame-ancestors 'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"


def test_media_needs_a_signed_in_session_and_is_not_cached(server: str) -> None:
    from app_fixtures import PASSWORD

    status, headers = get(server + "/media/0123456789abcdef.csv")
    assert status == 403 and headers["cache-control"] == "no-store"
    _, token, _ = _sign_in(server, "arbury", PASSWORD)
    status, headers, _ = _request(server + "/media/0123456789abcdef.csv", cookie=token)
    assert status == 404 and headers["cache-control"] == "no-store"


def test_metrics_are_not_served(server: str) -> None:
    status, _ = get(server + "/_stcore/metrics")
    assert status == 404


def test_an_unknown_host_is_refused(server: str) -> None:
    status, _ = get(server + "/_stcore/health", host="rebind.example")
    assert status == 400
    assert get(server + "/_stcore/health", host="localhost")[0] == 200


def test_a_websocket_from_another_origin_is_refused(server: str) -> None:
    from app_fixtures import PASSWORD
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    from websockets.typing import Origin, Subprotocol

    ws_url = server.replace("http://", "ws://") + "/_stcore/stream"
    _, token, _ = _sign_in(server, "romsey", PASSWORD)
    cookie = {"Cookie": f"chi_session={token}"}
    with pytest.raises(InvalidStatus) as err:
        connect(
            ws_url,
            origin=Origin("http://evil.example"),
            subprotocols=[Subprotocol("streamlit")],
            open_timeout=10,
            additional_headers=cookie,
        )
    assert err.value.response.status_code == 403
    # The app's own page, signed in: open. Without the session's cookie: refused.
    with connect(
        ws_url,
        origin=Origin(server),
        subprotocols=[Subprotocol("streamlit")],
        open_timeout=10,
        additional_headers=cookie,
    ) as ws:
        assert ws.protocol.state.name == "OPEN"
    with pytest.raises(InvalidStatus) as err:
        connect(ws_url, origin=Origin(server), subprotocols=[Subprotocol("streamlit")])
    assert err.value.response.status_code == 403


def test_production_with_demo_accounts_exits_non_zero(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = make_app_env(tmp_path, shared_fixture(tmp_path_factory))
    # Made as `chi demo` makes them (its own demonstration policy), then the store is
    # used by a production configuration: no production policy makes demo accounts.
    demo_store = Store(env.state, password_policy=PasswordPolicy())
    demo_store.add_user("demo-sergeant", "demo", "neighbourhood", ARBURY, demo=True)
    log = tmp_path / "server.log"
    proc = _serve(env.config, _free_port(), log)
    try:
        code = proc.wait(90)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise AssertionError("the server kept running with demo accounts in production") from None
    text = log.read_text()
    assert code == 3, "uvicorn's start-up failure status"
    assert "chi refuses to start" in text and "demo-sergeant" in text


# WebSocket messages, at the level of the ASGI messages the server passes to Streamlit.


def _ws_through_hardening(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """What Streamlit receives when a client sends ``messages`` on a same-origin WebSocket."""
    import asyncio

    from chi.app.server import Hardening

    seen: list[dict[str, object]] = []

    async def inner(scope: object, receive: object, send: object) -> None:
        while True:
            m = await receive()  # type: ignore[operator]
            seen.append(m)
            if m["type"] == "websocket.disconnect":
                return

    queue = [*messages, {"type": "websocket.disconnect", "code": 1000}]

    async def receive() -> dict[str, object]:
        return queue.pop(0)

    async def send(message: object) -> None:
        raise AssertionError(f"nothing is sent here: {message}")

    scope = {"type": "websocket", "path": "/_stcore/stream", "headers": [(b"host", b"a")]}
    asyncio.run(Hardening(inner)(scope, receive, send))
    return seen


def test_unauthenticated_clients_cannot_clear_everyones_caches() -> None:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    clear = BackMsg(clear_cache=True).SerializeToString()
    shutdown = BackMsg(debug_shutdown_runtime=True).SerializeToString()
    heartbeat = BackMsg(app_heartbeat=True).SerializeToString()
    seen = _ws_through_hardening(
        [{"type": "websocket.receive", "bytes": b} for b in (clear, shutdown, heartbeat, clear)]
    )
    assert [m.get("bytes") for m in seen] == [heartbeat, None]


def test_a_deferred_download_runs_only_for_its_own_session() -> None:
    import asyncio

    from streamlit.proto.BackMsg_pb2 import BackendOperationRequest
    from streamlit.runtime import backend_operation_handler as handlers
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    from chi.app.server import only_own_deferred_downloads

    only_own_deferred_downloads()
    manager = MediaFileManager(MemoryMediaFileStorage("/media"))
    calls: list[str] = []

    def build() -> bytes:
        calls.append("built")
        return b"rows"

    file_id = manager.add_deferred(build, "text/csv", "coords", file_name="x.csv")
    owner = manager._deferred_callables[file_id]["session_id"]
    handler = handlers.DeferredFileHandler(lambda: manager)
    request = BackendOperationRequest(request_id="r1")
    request.deferred_file.file_id = file_id
    other = asyncio.run(handler.handle(request, "another-session"))
    assert other.error_msg and calls == []
    mine = asyncio.run(handler.handle(request, owner))
    assert not mine.error_msg and mine.deferred_file.url and calls == ["built"]


# Sessions held by a cookie (local accounts through chi.app.serve), over plain HTTP.


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _request(
    url: str, data: bytes | None = None, cookie: str | None = None, origin: str | None = None
) -> tuple[int, dict[str, str], list[str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    headers = {"Cookie": f"chi_session={cookie}"} if cookie else {}
    if origin:
        headers["Origin"] = origin
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with opener.open(req, timeout=20) as r:
            return (
                r.status,
                {k.lower(): v for k, v in r.headers.items()},
                r.headers.get_all("set-cookie") or [],
            )
    except urllib.error.HTTPError as exc:
        return (
            exc.code,
            {k.lower(): v for k, v in exc.headers.items()},
            exc.headers.get_all("set-cookie") or [],
        )


def _sign_in(server: str, username: str, password: str) -> tuple[int, str | None, list[str]]:
    from urllib.parse import urlencode

    body = urlencode({"username": username, "password": password, "next": "/victims"}).encode()
    status, _, cookies = _request(f"{server}/_chi/signin", body, origin=server)
    token = None
    for c in cookies:
        if c.startswith("chi_session="):
            token = c.split(";", 1)[0].split("=", 1)[1]
    return status, token, cookies


def test_a_page_without_a_live_session_cookie_goes_to_the_sign_in_form(server: str) -> None:
    status, headers, _ = _request(f"{server}/victims?month=2024-12")
    assert status == 303
    assert headers["location"] == "/_chi/signin?next=%2Fvictims%3Fmonth%3D2024-12"
    assert _request(f"{server}/", cookie="made-up-token")[0] == 303
    status, headers, _ = _request(f"{server}/_chi/signin")
    assert status == 200 and headers["cache-control"] == "no-store"


def test_signing_in_sets_a_secure_httponly_strict_cookie_and_rotates_it(server: str) -> None:
    from app_fixtures import PASSWORD

    status, first, cookies = _sign_in(server, "sergeant", PASSWORD)
    assert status == 303 and first
    flags = [p.strip().lower() for p in cookies[0].split(";")]
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= set(flags)
    assert _request(f"{server}/victims", cookie=first)[0] == 200
    # Signing in again from the same browser gives a new token and ends the old one.
    from urllib.parse import urlencode

    body = urlencode({"username": "sergeant", "password": PASSWORD}).encode()
    _, _, cookies = _request(f"{server}/_chi/signin", body, cookie=first, origin=server)
    third = cookies[0].split(";", 1)[0].split("=", 1)[1]
    assert third != first
    assert _request(f"{server}/victims", cookie=first)[0] == 303, "rotated at sign-in"
    assert _request(f"{server}/victims", cookie=third)[0] == 200
    # Signing out ends the session and clears the cookie.
    status, _, cookies = _request(f"{server}/_chi/signout", cookie=third)
    assert status == 303 and any('chi_session=""' in c or "Max-Age=0" in c for c in cookies)
    assert _request(f"{server}/victims", cookie=third)[0] == 303


def test_a_cross_site_sign_in_post_and_a_wrong_password_are_refused(server: str) -> None:
    from urllib.parse import urlencode

    from app_fixtures import PASSWORD

    body = urlencode({"username": "sergeant", "password": PASSWORD}).encode()
    status, _, cookies = _request(f"{server}/_chi/signin", body, origin="http://evil.example")
    assert status == 403 and not cookies
    status, token, _ = _sign_in(server, "castle", "not the password")
    assert status == 400 and token is None
