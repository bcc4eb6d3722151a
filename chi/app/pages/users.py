"""The accounts page (admin): local accounts, their roles, scopes and lock-outs.

Accounts are created, removed and given passwords with ``chi users`` on the server (so a
password never passes through a web form it could be logged from); here an administrator
sees who has access to what and can lift a lock-out.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.app.text import md
from chi.app.ui import require
from chi.state.auth import AuthError, make_user

TITLE = "Accounts"
ICON = ":material/group:"


def _scope_label(role: str, scope: str) -> str:
    try:
        return make_user("-", role, scope).scope.label
    except AuthError as exc:
        return f"invalid: {exc}"


def render(ctx: PageContext) -> None:
    require(ctx, "users")
    st.title(TITLE)
    if ctx.config.auth_mode == "oidc":
        st.info(
            "Sign-in is through your identity provider: roles and scopes come from its "
            "claims or chi's allow-list, not from these local accounts."
        )
    accounts = ctx.store.accounts()
    ctx.record_once("accounts_view", rows=len(accounts))
    if not accounts:
        st.write("There are no local accounts. Add one with `chi users add`.")
        return
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "username": a.username,
                    "role": a.role,
                    "scope": _scope_label(a.role, a.scope),
                    "demo": a.demo,
                    "locked": a.locked(),
                    "created": a.created_at,
                }
                for a in accounts
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "demo": st.column_config.CheckboxColumn("Demo only"),
            "locked": st.column_config.CheckboxColumn("Locked"),
        },
    )
    st.caption("Manage accounts on the server with `chi users add|remove|set-password|list`.")
    locked = [a.username for a in accounts if a.locked()]
    if locked:
        who = st.selectbox("Locked account", locked, key="unlock_who")
        if st.button(f"Lift the lock-out of {md(who)}"):
            ctx.store.unlock(who)
            ctx.record("account_unlocked", detail=who)
            st.rerun()
