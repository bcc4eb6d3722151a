"""Sign-in, sessions and the per-run context every page receives.

One code path after sign-in: a local account (password form) or an OIDC identity
(``st.login``) becomes a ``chi.state.auth.User``, and a server-side session in the state store
gives it an absolute and an idle expiry. The user is re-read on every rerun (a removed
account or a changed scope takes effect at once), and a page gets only a ``PageContext``
holding that user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from chi.app.text import md
from chi.app.web_sessions import SIGNIN_PATH, cookie_sessions, cookie_token
from chi.exports.downloads import DownloadGate
from chi.reference import use_geography
from chi.settings import CONFIG_ENV, AppConfig, load_config
from chi.state.auth import AuthError, User, sign_in_local, user_for_account, user_from_oidc
from chi.state.store import Store

SESSION_KEY = "chi_session"
NOTICE_KEY = "chi_notice"
ENDED_KEY = "chi_ended"


@dataclass(frozen=True)
class Services:
    config: AppConfig
    store: Store


@st.cache_resource(show_spinner=False)
def _services(config_path: str) -> Services:
    config = load_config(Path(config_path) if config_path else None)
    from chi.state.passwords import PasswordPolicy

    # The configured password policy, so nothing set through this store is checked laxly.
    return Services(
        config, Store(config.state_path, password_policy=PasswordPolicy.from_config(config))
    )


def services() -> Services:
    """The configuration and state store of this server (one per configuration file); its
    ``[geography] path`` is the geography every page reads (``CHI_GEOGRAPHY`` overrides)."""
    found = _services(os.environ.get(CONFIG_ENV, "").strip())
    use_geography(found.config.geography)
    return found


@dataclass(frozen=True)
class PageContext:
    services: Services
    user: User
    pages: dict[str, StreamlitPage]
    token: str = ""
    """The state store session of this browser session (for checks made outside a rerun)."""

    @property
    def config(self) -> AppConfig:
        return self.services.config

    @property
    def store(self) -> Store:
        return self.services.store

    def download_gate(self, page: str) -> DownloadGate:
        """The check a download from ``page`` makes at the moment it runs."""
        return DownloadGate(
            self.store,
            self.token,
            self.config.idle_minutes,
            page,
            local_accounts=self.config.auth_mode == "local",
        )

    def record(self, action: str, **fields: Any) -> None:
        self.store.record(self.user.username, action, **fields)

    def record_once(self, action: str, **fields: Any) -> None:
        """Audit a view once per session for the same coordinates (not on every rerun)."""
        key = (action, *sorted((k, str(v)) for k, v in fields.items()))
        seen: set[tuple[Any, ...]] = st.session_state.setdefault("chi_audited", set())
        if key not in seen:
            self.record(action, **fields)
            seen.add(key)


def signed_in_user(svc: Services) -> User | None:
    """The user of this browser session, or None (after ending an expired session)."""
    if svc.config.auth_mode == "oidc":
        return _oidc_user(svc)
    token = session_token()
    if not token or token == st.session_state.get(ENDED_KEY):
        return None
    username = svc.store.touch_session(token, svc.config.idle_minutes)
    user = user_for_account(svc.store, username) if username else None
    if user is None:
        svc.store.end_session(token)
        owner = username or svc.store.session_username(token) or "(unknown session)"
        svc.store.record(owner, "session_expired")
        _forget_session()
        st.session_state[ENDED_KEY] = token
        st.session_state[NOTICE_KEY] = "Your session has ended. Please sign in again."
    return user


def session_token() -> str | None:
    """This browser session's state-store session: from the cookie when the hardened server
    holds sessions in cookies (the Streamlit session alone then signs nobody in), else from
    the Streamlit session."""
    if cookie_sessions():
        return cookie_token(st.context.cookies)
    token = st.session_state.get(SESSION_KEY)
    return str(token) if token else None


def _oidc_user(svc: Services) -> User | None:
    if not st.user.is_logged_in:
        return None
    try:
        user = user_from_oidc(st.user.to_dict(), svc.config)
    except AuthError as exc:
        st.error(f"You are signed in, but chi cannot give you access: {md(exc)}")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    token = st.session_state.get(SESSION_KEY)
    if not token:
        session = svc.store.start_session(user.username, svc.config.session_hours)
        st.session_state[SESSION_KEY] = session.token
        svc.store.record(user.username, "sign_in", scope=user.scope_text, detail="oidc")
        return user
    if svc.store.touch_session(token, svc.config.idle_minutes) is None:
        svc.store.record(user.username, "session_expired")
        _forget_session()
        st.logout()
        return None
    return user


def _forget_session() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def sign_out(svc: Services, user: User) -> None:
    token = session_token()
    if token:
        svc.store.end_session(token)
    svc.store.record(user.username, "sign_out")
    _forget_session()
    if token:
        st.session_state[ENDED_KEY] = token
        st.session_state[NOTICE_KEY] = "You have signed out."
    if svc.config.auth_mode == "oidc":
        st.logout()


def _client_address() -> str | None:
    """The address the request came from, as the server saw it (behind a reverse proxy, the
    proxy's, unless the server is told to trust its forwarding header)."""
    try:
        return st.context.ip_address
    except Exception:
        return None


def sign_in_page(svc: Services) -> None:
    """The sign-in page: a password form, or the OIDC provider's button."""
    st.title("chi: victim harm lists")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    if svc.config.auth_mode == "oidc":
        st.write("Sign in with your force account to see the lists for your role.")
        provider = svc.config.oidc.provider or None
        if st.button("Sign in", type="primary"):
            if provider:
                st.login(provider)
            else:
                st.login()
        return
    if cookie_sessions():
        # The form is the server's own page, whose answer can set the session cookie
        # (reloading this page leads there too).
        st.link_button("Sign in", SIGNIN_PATH, type="primary")
        return
    left, _ = st.columns([1, 2])
    with left, st.form("signin", clear_on_submit=True):
        username = st.text_input("Username", key="signin_username")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if svc.config.demo:
        st.caption(
            "Demonstration mode: accounts sergeant, north, south, analyst and admin, "
            "password demo. Synthetic data only."
        )
    if not submitted:
        return
    result = sign_in_local(svc.store, svc.config, username, password, client=_client_address())
    if result.user is None:
        known = svc.store.account(username.strip()) is not None
        svc.store.record(
            username.strip() if known else "(unknown account)",
            "sign_in_failed",
            detail="locked" if "locked" in result.message else None,
        )
        st.error(result.message)
        return
    session = svc.store.start_session(result.user.username, svc.config.session_hours)
    st.session_state[SESSION_KEY] = session.token
    svc.store.record(result.user.username, "sign_in", scope=result.user.scope_text)
    st.rerun()
