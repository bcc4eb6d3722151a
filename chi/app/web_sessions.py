"""Sign-in sessions held by a cookie, for the hardened server (``chi.app.serve``).

With local accounts, ``chi.app.serve`` serves the sign-in form itself, as a plain HTML page at
``/_chi/signin`` (outside Streamlit, so that the answer can set a cookie). A correct password
starts a server-side session in the state store and sets its token in a cookie that is
``HttpOnly`` (no script can read it), ``Secure`` (sent only over TLS, or to this machine)
and ``SameSite=Strict`` (never sent by a request another site starts). The token is new at
every sign-in (a session a cookie held before is ended: rotation), and the store keeps only
its SHA-256. The app reads the cookie from the WebSocket's opening request on every rerun,
so a refresh or a new tab stays signed in, and a session ended in the store (sign-out,
``chi users set-password``, ``chi users remove``, the idle or absolute limit) is over at once
for every tab: the Streamlit session id alone signs nobody in.

The form posts only from its own origin (the ``Origin`` header is checked as well as the
cookie's SameSite), counts failures through ``chi.state.auth.sign_in_local`` (per name and per
client address, atomically) and audits like the app did.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from chi.settings import AppConfig
from chi.state.auth import sign_in_local
from chi.state.store import Store

COOKIE = "chi_session"
SIGNIN_PATH = "/_chi/signin"
SIGNOUT_PATH = "/_chi/signout"

_enabled = False


def cookie_sessions() -> bool:
    """Whether this process serves cookie sessions (the hardened server with local accounts)."""
    return _enabled


def enable() -> None:
    global _enabled
    _enabled = True


def _next(raw: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _page(
    message: str = "", next_path: str = "/", demo: bool = False, status: int = 200
) -> Response:
    note = (
        "<p class=note>Demonstration mode: accounts sergeant, north, south, analyst and admin, "
        "password demo. Synthetic data only.</p>"
        if demo
        else ""
    )
    error = f"<p class=error role=alert>{html.escape(message)}</p>" if message else ""
    body = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>chi: sign in</title>
<meta name=viewport content="width=device-width, initial-scale=1">
<style>
body {{ font-family: sans-serif; max-width: 26rem; margin: 4rem auto; color: #262730; }}
label {{ display: block; margin-top: 1rem; }}
input {{ width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }}
button {{ margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; background: #ff4b4b;
  color: white; border: 0; border-radius: .4rem; }}
.error {{ color: #9b1c1c; background: #fde8e8; padding: .6rem; }}
.note {{ color: #555; font-size: .9rem; }}
</style></head><body>
<h1>chi: victim harm lists</h1>
{error}
<form method=post action="{SIGNIN_PATH}">
<input type=hidden name=next value="{html.escape(next_path)}">
<label for=username>Username</label>
<input id=username name=username autocomplete=username required autofocus>
<label for=password>Password</label>
<input id=password name=password type=password autocomplete=current-password required>
<button type=submit>Sign in</button>
</form>
{note}
</body></html>"""
    return HTMLResponse(body, status_code=status)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # SameSite=Strict still keeps the cookie from cross-site requests
    host = origin.split("://", 1)[-1].split("/", 1)[0].lower()
    return host == request.headers.get("host", "").lower()


def routes(config: AppConfig, store: Store) -> list[Route]:
    """The sign-in and sign-out routes."""

    async def signin(request: Request) -> Response:
        if request.method == "GET":
            return _page(next_path=_next(request.query_params.get("next")), demo=config.demo)
        if not _same_origin(request):
            return Response("Cross-site sign-in refused", status_code=403)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        username = (form.get("username") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        next_path = _next((form.get("next") or ["/"])[0])
        client = request.client.host if request.client else None
        result = sign_in_local(store, config, username, password, client=client)
        if result.user is None:
            known = store.account(username) is not None
            store.record(
                username if known else "(unknown account)",
                "sign_in_failed",
                detail="locked" if "locked" in result.message else None,
            )
            return _page(result.message, next_path, config.demo, status=400)
        old = request.cookies.get(COOKIE)
        if old:
            store.end_session(old)
        session = store.start_session(result.user.username, config.session_hours)
        store.record(result.user.username, "sign_in", scope=result.user.scope_text, detail="cookie")
        response = RedirectResponse(next_path, status_code=303)
        _set_cookie(response, session.token)
        return response

    async def signout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            owner = store.session_username(token)
            store.end_session(token)
            if owner:
                store.record(owner, "sign_out")
        response = RedirectResponse(SIGNIN_PATH, status_code=303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    return [
        Route(SIGNIN_PATH, signin, methods=["GET", "POST"]),
        Route(SIGNOUT_PATH, signout, methods=["GET", "POST"]),
    ]


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, path="/", secure=True, httponly=True, samesite="strict", max_age=None
    )


def cookie_token(cookies: Any) -> str | None:
    """The session token in a request's cookies (``st.context.cookies``), if any."""
    try:
        value = cookies.get(COOKIE)
    except Exception:
        return None
    return str(value) if value else None


class CookieGate:
    """ASGI middleware: a page of the app (``/`` or a page's path) is served only with a
    cookie of a live session; without one the browser is sent to the sign-in form, and the
    app's HTML, scripts and WebSocket never start for it. A file under ``/media/`` (a built
    download) is refused (403) without one, and so is the app's WebSocket."""

    def __init__(self, app: Any, store: Store, config: AppConfig, pages: frozenset[str]) -> None:
        self.app = app
        self.store = store
        self.config = config
        self.pages = pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope.get("path", "").endswith("/_stcore/stream"):
            # The app's WebSocket only with a live session's cookie: no client opens a
            # Streamlit session of its own, and a Streamlit session id is no key to one.
            token = HTTPConnection(scope).cookies.get(COOKIE)
            if not (token and self.store.touch_session(token, self.config.idle_minutes)):
                await send({"type": "websocket.close", "code": 1008})
                return
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            path = scope.get("path", "/")
            if path.startswith("/media/"):
                # A built download (or any media file) only with a live session's cookie.
                token = Request(scope).cookies.get(COOKIE)
                if not (token and self.store.touch_session(token, self.config.idle_minutes)):
                    await Response("Sign in first", status_code=403)(scope, receive, send)
                    return
            elif path == "/" or path.strip("/") in self.pages:
                request = Request(scope)
                token = request.cookies.get(COOKIE)
                live = token and self.store.touch_session(token, self.config.idle_minutes)
                if not live:
                    query = scope.get("query_string", b"").decode("latin-1")
                    target = path + (f"?{query}" if query else "")
                    response = RedirectResponse(
                        f"{SIGNIN_PATH}?{_encode_next(target)}", status_code=303
                    )
                    if token:
                        response.delete_cookie(
                            COOKIE, path="/", secure=True, httponly=True, samesite="strict"
                        )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _encode_next(target: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": target})
