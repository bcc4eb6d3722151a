"""The app's entry: configuration, the production check, sign-in, then the pages of the role.

The navigation is built from the user's role on every rerun, so a page outside the role is
never registered: its URL falls back to the role's first page. Each page also checks the
role itself before it reads anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import streamlit as st

from chi.app.context import (
    PageContext,
    Services,
    services,
    session_token,
    sign_in_page,
    sign_out,
    signed_in_user,
)
from chi.app.pages import (
    audit,
    backtest,
    dyads,
    impact,
    meeting,
    offenders,
    person,
    profile,
    quality,
    runs,
    users,
    victims,
)
from chi.app.text import md
from chi.scoring.runs import RunError, open_current
from chi.state.auth import User
from chi.state.store import StoreError

ICON = Path(__file__).resolve().parent / "assets" / "icon.png"


class Page(Protocol):
    """A page module: its navigation title and icon, and what draws it."""

    TITLE: str
    ICON: str

    def render(self, ctx: PageContext) -> None: ...


PAGES: dict[str, Page] = {
    page.__name__.rsplit(".", 1)[-1]: page
    for page in (
        victims,
        person,
        offenders,
        dyads,
        profile,
        meeting,
        impact,
        backtest,
        runs,
        quality,
        audit,
        users,
    )
}
"""Every page by its URL path (its module's name), in navigation order."""


def _bind(
    render: Callable[[PageContext], None], holder: dict[str, PageContext]
) -> Callable[[], None]:
    def page() -> None:
        render(holder["ctx"])

    return page


def _startup() -> Services:
    try:
        svc = services()
    except (ValueError, StoreError) as exc:
        st.title("chi cannot start")
        st.error(f"The configuration could not be used: {exc}")
        st.stop()
    from chi.app.server import hardened, unhardened_refusal

    refusal = unhardened_refusal(svc.config.demo, _real_server(), hardened())
    if refusal:
        st.title("chi refuses to start")
        st.error(f"chi refuses to serve: {refusal}.")
        print(f"chi refuses to start: {refusal}", file=sys.stderr)
        os._exit(2)
    demo = svc.store.demo_accounts()
    if demo and not svc.config.demo:
        st.title("chi refuses to start")
        st.error(
            "This is a production configuration (demo = false), but the state store holds "
            f"demonstration accounts ({', '.join(demo)}). Remove them with "
            "`chi users remove NAME` before serving real data."
        )
        # Served with `streamlit run` the check can only run with the first page
        # (chi.app.serve refuses at start-up): end the server rather than serve an error page.
        print(f"chi refuses to start: demo accounts {demo} in production", file=sys.stderr)
        if _real_server():
            os._exit(2)
        st.stop()
    return svc


def _warm(svc: Services) -> None:
    """Start reading the current run's extract for the DA profile (once per run), when the
    server is started with ``CHI_PREWARM=1`` (``chi demo`` does; see docs/deployment.md)."""
    if os.environ.get("CHI_PREWARM") != "1":
        return
    try:
        run = open_current(svc.config.runs_dir)
    except RunError:
        return
    profile.warm(str(run.path), run.run_id)


def _real_server() -> bool:
    """Whether this runs in a real Streamlit server (not in a test harness's stand-in)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def _sidebar(svc: Services, user: User) -> None:
    with st.sidebar:
        st.markdown(f"**{md(user.username)}** · {user.role.value}")
        st.caption(user.scope.label)
        if svc.config.demo:
            st.caption(":orange[Demonstration: synthetic data]")
        # Ends the session in the store, for every tab (a cookie that held it is cleared at
        # the next page load).
        if st.button("Sign out", key="sign_out"):
            sign_out(svc, user)
            st.rerun()


def _signed_out(svc: Services) -> None:
    """The sign-in form at every page's address, so a link to a list leads to the list
    once the user has signed in (and to the role's first page if the list is not theirs)."""

    def page() -> None:
        sign_in_page(svc)

    pages = [st.Page(page, title="Sign in", url_path="signin", default=True)]
    pages += [st.Page(page, title="Sign in", url_path=name) for name in PAGES]
    st.navigation(pages, position="hidden").run()


def main() -> None:
    # The tab icon is a file of the app: a Material icon name would be fetched from
    # fonts.gstatic.com, which a police network without internet access cannot reach.
    st.set_page_config(page_title="chi", page_icon=str(ICON), layout="wide")
    st.set_option("client.disableDataExport", True)
    svc = _startup()
    _warm(svc)
    user = signed_in_user(svc)
    if user is None:
        _signed_out(svc)
        return
    holder: dict[str, PageContext] = {}
    pages = {
        name: st.Page(
            _bind(PAGES[name].render, holder),
            title=PAGES[name].TITLE,
            icon=PAGES[name].ICON,
            url_path=name,
        )
        for name in user.pages
    }
    holder["ctx"] = PageContext(svc, user, pages, token=session_token() or "")
    nav = st.navigation(list(pages.values()))
    _sidebar(svc, user)
    nav.run()
