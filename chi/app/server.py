"""chi's web server: Streamlit's ASGI application (``st.App``) with chi's hardening in front.

Serve it with ``uvicorn chi.app.serve:app`` from any folder (:mod:`chi.app.serve`; the app is
``chi/app/script/chi_app.py``, both inside the package). What it adds to Streamlit, for every
request before Streamlit sees it:

- Start-up refusal: a production configuration (``app.demo = false``) whose state store
  holds demo accounts, or a configuration that cannot be used, stops the server during
  start-up with a message and a non-zero exit, instead of serving an error page.
- Host allow-list (``app.allowed_hosts``): a request for any other ``Host`` is refused
  (400), so a DNS-rebinding page cannot reach the app through the browser.
- WebSocket origin: a WebSocket whose ``Origin`` is not the host it connects to is refused
  (403), so another site cannot open a session in the officer's browser.
- ``/_stcore/metrics`` is not served (404): it is nobody's business outside the server.
- WebSocket messages no client may send are dropped: clearing the server's caches (for every
  user at once) and the developer's debug and run-on-save switches.
- A deferred download runs only for the connection whose page drew its button.
- With local accounts, sign-in sessions are held by a secure, HttpOnly, SameSite=Strict
  cookie (``chi.app.web_sessions``): the sign-in form is served here, and a page of the app
  is served only with the cookie of a live session.
- With OIDC sign-in, a file under ``/media/`` (a built download) is served only with
  Streamlit's own signed sign-in cookie of a signed-in user (``OidcMediaGate``).
- Headers on every response: framing refused (``X-Frame-Options: DENY``,
  ``Content-Security-Policy: frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, and ``Cache-Control: no-store`` on everything but
  Streamlit's own versioned static assets, so no list or download stays in a browser or
  proxy cache.

What Streamlit cannot do itself beyond this (TLS, HSTS, request size, rate limits at the
edge) is in the reverse-proxy example of docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from chi.settings import AppConfig, load_config
from chi.state.store import Store, StoreError

APP_SCRIPT = Path(__file__).resolve().parent / "script" / "chi_app.py"
"""The script Streamlit runs: inside the package, so an installed chi serves without a checkout."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
BLOCKED = ("/_stcore/metrics",)


class StartupRefused(RuntimeError):
    """The server must not serve with this configuration."""


def startup_problem(config: AppConfig) -> str | None:
    """Why this configuration must not be served (None: it may be)."""
    try:
        demo = Store(config.state_path).demo_accounts()
    except StoreError as exc:
        return str(exc)
    if demo and not config.demo:
        return (
            "this is a production configuration (demo = false), but the state store holds "
            f"demonstration accounts ({', '.join(demo)}); remove them with `chi users remove "
            "NAME` before serving real data"
        )
    return None


class Hardening:
    """ASGI middleware: blocked paths, WebSocket origin check and security headers."""

    def __init__(self, app: ASGI, base_path: str = "") -> None:
        self.app = app
        self.base = base_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and _host_of(origin) != headers.get("host", "").lower():
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, _without_refused(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if any(path.rstrip("/") == self.base + p for p in BLOCKED):
            await _plain(send, 404, b"Not found")
            return
        static = path.startswith(self.base + "/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers[k] = v
                if not static:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, with_headers)


# Browser-to-server messages chi never needs and no client may send: clearing the server's
# caches (for every user at once), and the developer's debugging and run-on-save switches.
REFUSED_MESSAGES = frozenset(
    {"clear_cache", "debug_disconnect_websocket", "debug_shutdown_runtime", "set_run_on_save"}
)


def refused_message(data: bytes) -> str | None:
    """The type of a Streamlit ``BackMsg`` that is dropped, or None to pass it on."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:
        return None  # Streamlit itself refuses what it cannot parse
    kind = msg.WhichOneof("type")
    return kind if kind in REFUSED_MESSAGES else None


def _without_refused(receive: Receive) -> Receive:
    async def filtered() -> Message:
        while True:
            message = await receive()
            data = message.get("bytes")
            if message["type"] == "websocket.receive" and data and refused_message(data):
                continue
            return message

    return filtered


def only_own_deferred_downloads() -> None:
    """Make a deferred download run only for the session that drew its button.

    Streamlit runs a deferred download's callable for any connection that presents its id;
    chi's gate (``chi.exports.downloads.DownloadGate``) already re-checks the signed-in session
    the callable belongs to, and this closes the id to other connections as well."""
    from streamlit.proto.BackMsg_pb2 import BackendOperationRequest
    from streamlit.proto.ForwardMsg_pb2 import BackendOperationResponse
    from streamlit.runtime import backend_operation_handler as handlers

    original = handlers.DeferredFileHandler.handle
    if getattr(original, "_chi_checked", False):
        return

    async def handle(
        self: Any, request: BackendOperationRequest, session_id: str
    ) -> BackendOperationResponse:
        file_id = request.deferred_file.file_id
        manager = self._get_media_file_mgr()
        entry = getattr(manager, "_deferred_callables", {}).get(file_id)
        if entry is None or entry.get("session_id") != session_id:
            return BackendOperationResponse(
                request_id=request.request_id, error_msg="Failed to generate file for download"
            )
        result: BackendOperationResponse = await original(self, request, session_id)
        return result

    handle._chi_checked = True  # type: ignore[attr-defined]
    handlers.DeferredFileHandler.handle = handle  # type: ignore[method-assign]


def _host_of(origin: str) -> str:
    return origin.split("://", 1)[-1].split("/", 1)[0].lower()


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"cache-control", b"no-store"),
                *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


USER_COOKIE = "_streamlit_user"
"""The cookie ``st.login`` sets: signed with the server's cookie secret (itsdangerous), possibly
split into chunks, holding ``is_logged_in`` among the identity claims."""


def _cookie_secret() -> str:
    from streamlit.web.server.server_util import get_cookie_secret

    return str(get_cookie_secret())


def oidc_signed_in(cookies: dict[str, str], secret: str) -> bool:
    """Whether ``cookies`` hold a valid, unexpired ``st.login`` cookie of a signed-in user."""
    import json

    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    try:
        value = get_cookie_with_chunks(single, USER_COOKIE)
        payload = json.loads(value.decode("utf-8")) if value else {}
    except (ValueError, UnicodeError):
        return False
    return isinstance(payload, dict) and payload.get("is_logged_in") is True


class OidcMediaGate:
    """ASGI middleware for OIDC sign-in: a file under ``/media/`` (a built download, an image
    of a page) is refused (403) without the signed sign-in cookie of a signed-in user, so no
    URL serves list data to a browser that has not signed in (the download gate then checks
    the session and scope when the file is built)."""

    def __init__(self, app: ASGI, secret: Callable[[], str] = _cookie_secret) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and str(scope.get("path", "")).startswith("/media/")
        ):
            from starlette.requests import HTTPConnection

            if not oidc_signed_in(dict(HTTPConnection(scope).cookies), self.secret()):
                await _plain(send, 403, b"Sign in first")
                return
        await self.app(scope, receive, send)


_HARDENED: list[bool] = []


def hardened() -> bool:
    """Whether this process serves the app through :func:`hardening` (``chi.app.serve``)."""
    return bool(_HARDENED)


def unhardened_refusal(demo: bool, real_server: bool, is_hardened: bool) -> str | None:
    """Why a production app must not serve here: served by a real Streamlit server without
    chi's hardening (``streamlit run`` of the script), where none of its defences apply. None
    when it may serve (a demonstration, a test harness, or ``chi.app.serve``)."""
    if demo or not real_server or is_hardened:
        return None
    return (
        "this is a production configuration (demo = false) served without chi's hardened "
        "server: serve it with `uvicorn chi.app.serve:app`, not `streamlit run`"
    )


def hardening(config: AppConfig | None = None) -> dict[str, Any]:
    """The keyword arguments for ``st.App``: chi's middleware and start-up check."""
    cfg = config or load_config()
    only_own_deferred_downloads()
    _HARDENED.append(True)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        problem = startup_problem(cfg)
        if problem:
            print(f"chi refuses to start: {problem}", file=sys.stderr, flush=True)
            raise StartupRefused(problem)
        from chi.state.anchor import keep_anchoring, load_key
        from chi.state.passwords import startup_warning
        from chi.state.store import StoreError

        warning = startup_warning(cfg)
        if warning:
            print(f"chi warning: {warning}", file=sys.stderr, flush=True)
        # The audit log's head, to the server log (and the anchor file) now, periodically
        # and at shutdown: an external record that the log's newest entries existed.
        stop = asyncio.Event()
        store = Store(cfg.state_path)
        minutes = cfg.audit_anchor_minutes
        try:
            key = load_key(cfg.audit_anchor_key_file)
        except StoreError as exc:
            print(f"chi refuses to start: {exc}", file=sys.stderr, flush=True)
            raise StartupRefused(str(exc)) from None
        task = asyncio.create_task(
            keep_anchoring(store, cfg.audit_anchor_file, minutes, stop, sys.stderr, key)
        )
        try:
            yield
        finally:
            stop.set()
            await task

    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(cfg.allowed_hosts)),
        Middleware(Hardening),
    ]
    routes: list[Any] = []
    if cfg.auth_mode == "local":
        from chi.app import web_sessions
        from chi.state.auth import PAGES

        store = Store(cfg.state_path)
        pages = frozenset({p for role in PAGES.values() for p in role} | {"signin"})
        web_sessions.enable()
        routes = web_sessions.routes(cfg, store)
        middleware.append(Middleware(web_sessions.CookieGate, store=store, config=cfg, pages=pages))
    else:
        middleware.append(Middleware(OidcMediaGate))
    return {"middleware": middleware, "routes": routes, "lifespan": lifespan}
