"""Who a signed-in person is to chi: a role and a neighbourhood scope, however they signed in.

Two ways in, one result. A local account (``chi.state.accounts``) is checked by password; an OIDC
sign-in is mapped from its ID-token claims, or from an allow-list file keyed by identity.
Both give a ``User``, and everything after sign-in (pages, queries, downloads, the audit
log) depends only on that.

Roles and what they may open (``PAGES``):

- ``neighbourhood``: the victim list and person view of one or more neighbourhoods; offence
  detail in restricted groups is shown only by its group label.
- ``area``: the same for every neighbourhood of one policing area (the areas of the force's
  geography file, ``chi.reference.geography``: North or South for Cambridgeshire), plus
  offenders, DA dyads,
  the domestic abuse problem profile, the area meeting and the impact review.
- ``analyst``: force-wide, plus runs (reruns and diffs) and data quality.
- ``admin``: accounts and the audit log; no lists.

A scope is validated against the neighbourhood reference table when the user is made, so
a mistyped ward code fails at sign-in rather than silently showing an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from chi.reading.lists import Scope, neighbourhoods
from chi.reference import geography
from chi.settings import AppConfig, OidcSettings, read_toml
from chi.state.store import Store


class Role(StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    AREA = "area"
    ANALYST = "analyst"
    ADMIN = "admin"


PAGES: dict[Role, tuple[str, ...]] = {
    Role.NEIGHBOURHOOD: ("victims", "person"),
    Role.AREA: ("victims", "person", "offenders", "dyads", "profile", "meeting", "impact"),
    Role.ANALYST: (
        "victims",
        "person",
        "offenders",
        "dyads",
        "profile",
        "meeting",
        "impact",
        "backtest",
        "runs",
        "quality",
    ),
    Role.ADMIN: ("audit", "users"),
}


class AuthError(Exception):
    """A sign-in that cannot become a user: unknown role, bad scope, not on the allow-list."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    neighbourhoods: frozenset[str] = frozenset()
    area: str | None = None

    @property
    def scope(self) -> Scope:
        """What this user's queries may return; admins see no list rows at all."""
        if self.role is Role.ANALYST:
            return Scope.force()
        if self.role is Role.AREA:
            assert self.area is not None
            codes = _area_codes(self.area)
            return Scope.of(codes, label=f"{self.area} area")
        if self.role is Role.NEIGHBOURHOOD:
            return Scope.of(self.neighbourhoods, label=neighbourhood_label(self.neighbourhoods))
        return Scope.of(set(), label="no lists")

    @property
    def scope_text(self) -> str:
        """The scope as stored with an account: ward codes, an area, or empty."""
        if self.role is Role.NEIGHBOURHOOD:
            return ",".join(sorted(self.neighbourhoods))
        return self.area or ""

    @property
    def pages(self) -> tuple[str, ...]:
        return PAGES[self.role]

    def may_open(self, page: str) -> bool:
        return page in PAGES[self.role]

    @property
    def masks_restricted(self) -> bool:
        """Whether restricted offence groups are shown to this user only by their label."""
        return self.role is Role.NEIGHBOURHOOD


def _area_codes(area: str) -> list[str]:
    return list(geography().in_area(area))


def neighbourhood_label(codes: Iterable[str]) -> str:
    nb = neighbourhoods()
    names = dict(zip(nb["neighbourhood_code"], nb["neighbourhood_name"], strict=True))
    return ", ".join(sorted(names.get(c, c) for c in codes))


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise AuthError(
            f"unknown role {text!r}; roles are {', '.join(r.value for r in Role)}"
        ) from None


def make_user(username: str, role: str | Role, scope: Iterable[str] | str | None) -> User:
    """A user with a checked scope: ward codes for ``neighbourhood``, an area for ``area``."""
    r = role if isinstance(role, Role) else parse_role(role)
    items = _split(scope)
    if r is Role.NEIGHBOURHOOD:
        if not items:
            raise AuthError("the neighbourhood role needs one or more neighbourhood codes")
        known = set(neighbourhoods()["neighbourhood_code"].to_list())
        unknown = sorted(set(items) - known)
        if unknown:
            raise AuthError(f"unknown neighbourhood code(s): {', '.join(unknown)}")
        return User(username, r, neighbourhoods=frozenset(items))
    if r is Role.AREA:
        # One area, by its name in the geography in any case; a name may have spaces.
        geo = geography()
        named = [scope] if isinstance(scope, str) else items
        area = geo.find_area(str(named[0])) if len(named) == 1 else None
        if area is None:
            raise AuthError(f"the area role needs one area: {' or '.join(geo.areas)}")
        return User(username, r, area=area)
    if items:
        raise AuthError(f"the {r.value} role is force-wide and takes no scope")
    return User(username, r)


def _split(scope: Iterable[str] | str | None) -> list[str]:
    if scope is None:
        return []
    parts = scope.replace(",", " ").split() if isinstance(scope, str) else list(scope)
    return [str(p).strip() for p in parts if str(p).strip()]


def user_for_account(store: Store, username: str) -> User | None:
    """The user behind a local account, as it is now (None if removed or no longer valid)."""
    account = store.account(username)
    if account is None:
        return None
    try:
        return make_user(account.username, account.role, account.scope)
    except AuthError:
        return None


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    message: str = ""


LOCKED_MESSAGE = (
    "Too many failed sign-ins: signing in with this name or from this address is locked "
    "for a while. Ask an administrator if you need it sooner."
)


def sign_in_local(
    store: Store, config: AppConfig, username: str, password: str, client: str | None = None
) -> SignInResult:
    """Check a local password; the message never says whether the account exists (names
    without an account are counted and locked like accounts). ``client`` is the address
    the attempt came from, limited across all names."""
    result = store.check_password(
        username.strip(),
        password,
        lockout_attempts=config.lockout_attempts,
        lockout_minutes=config.lockout_minutes,
        client=client,
        client_attempts=config.client_lockout_attempts,
    )
    if result.failure == "locked":
        return SignInResult(None, LOCKED_MESSAGE)
    if result.account is None:
        return SignInResult(None, "The username or password is not right.")
    user = user_for_account(store, result.account.username)
    if user is None:
        return SignInResult(None, "This account has no valid role or scope; ask an administrator.")
    return SignInResult(user)


def user_from_claims(claims: Mapping[str, Any], oidc: OidcSettings) -> User:
    """Role and scope from ID-token claims (``oidc.role_claim`` and the scope claims)."""
    identity = _identity(claims, oidc)
    role = claims.get(oidc.role_claim)
    if isinstance(role, list):
        known = [r for r in role if str(r).lower() in {x.value for x in Role}]
        role = known[0] if len(known) == 1 else None
    if not isinstance(role, str) or not role:
        raise AuthError(f"the sign-in has no usable {oidc.role_claim!r} claim")
    r = parse_role(role)
    scope: Any = None
    if r is Role.NEIGHBOURHOOD:
        scope = claims.get(oidc.neighbourhoods_claim)
    elif r is Role.AREA:
        scope = claims.get(oidc.area_claim)
    return make_user(identity, r, scope)


def user_from_allow_list(claims: Mapping[str, Any], oidc: OidcSettings) -> User:
    """Role and scope from the allow-list file, keyed by the identity claim."""
    identity = _identity(claims, oidc)
    assert oidc.allow_list is not None
    entries = load_allow_list(oidc.allow_list)
    entry = entries.get(identity.lower())
    if entry is None:
        raise AuthError("this account is not on chi's allow-list; ask an administrator")
    role = entry.get("role")
    if not isinstance(role, str):
        raise AuthError("the allow-list entry for this account has no role")
    scope = entry.get("neighbourhoods") if role == Role.NEIGHBOURHOOD else entry.get("area")
    return make_user(identity, role, scope)


def load_allow_list(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = read_toml(Path(path), "allow-list")
    except ValueError as exc:
        raise AuthError(str(exc)) from None
    users = doc.get("users", {})
    if not isinstance(users, dict):
        raise AuthError(f"{path}: [users] must be a table")
    return {str(k).lower(): v for k, v in users.items() if isinstance(v, dict)}


def user_from_oidc(claims: Mapping[str, Any], config: AppConfig) -> User:
    if config.oidc.role_source == "allow_list":
        return user_from_allow_list(claims, config.oidc)
    return user_from_claims(claims, config.oidc)


def _identity(claims: Mapping[str, Any], oidc: OidcSettings) -> str:
    value = claims.get(oidc.identity_claim)
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"the sign-in has no {oidc.identity_claim!r} claim")
    return value.strip()


def scope_label(text: str | None) -> str:
    """A readable form of a stored scope: ``*``, an area, or ward codes (as in the audit log)."""
    if not text:
        return ""
    if text == "*":
        return "force-wide"
    geo = geography()
    named = geo.find_area(text)
    if named is not None:
        return f"{named} area"
    codes = set(_split(text))
    for area in geo.areas:
        if codes == set(_area_codes(area)):
            return f"{area} area"
    return neighbourhood_label(codes)
