"""The app's configuration: where runs and state live, how people sign in, what is restricted.

One TOML file, named by the ``CHI_CONFIG`` environment variable, configures a deployment;
without it the defaults below serve a working copy (runs in ``./runs``, state in
``./state.sqlite``, local accounts). The same file may hold the ``[policy]`` table that
``chi score`` reads, so a force keeps one file. Relative paths are taken from the file's
folder, so the file can be moved with its data. Every setting is listed in
``docs/deployment.md`` (a test checks that the two agree).

Decisions made here:

- Sign-in is ``local`` (accounts in the state store, managed with ``chi users``) unless
  ``auth.mode = "oidc"``, where Streamlit's OIDC sign-in identifies the person and their role
  and scope come from ID-token claims or an allow-list file.
- ``demo = true`` marks a demonstration deployment; only then may demo accounts exist.
- Sessions last at most ``session_hours`` and end after ``idle_minutes`` without activity;
  ``lockout_attempts`` wrong passwords in a row lock an account name (existing or not) for
  ``lockout_minutes``, and ``client_lockout_attempts`` from one client address pause it.
- ``restricted_groups`` (offence groups from ``chi.offences``) are shown to the neighbourhood
  role only by their group label; the default is sexual offences.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from chi.offences import resolve

CONFIG_ENV = "CHI_CONFIG"
HANDLING_MARKING = "OFFICIAL-SENSITIVE"
HIBP_RANGE_URL = "https://api.pwnedpasswords.com/range/"
"""Have I Been Pwned's Pwned Passwords range API (k-anonymity: only 5 hex characters leave)."""
"""The Government Security Classification marking every list, download and pack carries."""
AUTH_MODES = ("local", "oidc")
ROLE_SOURCES = ("claims", "allow_list")


@dataclass(frozen=True)
class OidcSettings:
    provider: str = ""
    """Provider name under ``[auth]`` in ``.streamlit/secrets.toml``; empty: the default."""
    identity_claim: str = "email"
    """The claim that names the person in the audit log and the allow-list."""
    role_source: str = "claims"
    """``claims`` (role and scope from the ID token) or ``allow_list`` (from a file)."""
    role_claim: str = "chi_role"
    neighbourhoods_claim: str = "chi_neighbourhoods"
    area_claim: str = "chi_area"
    allow_list: Path | None = None
    """TOML file of ``[users."identity"]`` tables with ``role`` and scope, for ``allow_list``."""


@dataclass(frozen=True)
class AppConfig:
    runs_dir: Path = Path("runs")
    extract_dir: Path | None = None
    """Extract the app's reruns score; None: the extract of the current run's manifest."""
    state_path: Path = Path("state.sqlite")
    demo: bool = False
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    """Host names the server answers to (``Host`` header), against DNS rebinding."""
    auth_mode: str = "local"
    session_hours: float = 10.0
    idle_minutes: float = 60.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    client_lockout_attempts: int = 20
    """Failed sign-ins from one client address (across all names) before it is paused."""
    restricted_groups: tuple[str, ...] = ("sexual_offences",)
    marking: str = HANDLING_MARKING
    oidc: OidcSettings = field(default_factory=OidcSettings)
    breached_corpus: Path | None = None
    """A mirror of Pwned Passwords (a folder of range files or one sorted file); see
    chi.state.passwords."""
    breached_api: bool = False
    """Also ask the Pwned Passwords range API: one prefix per password, the password as typed."""
    breached_api_url: str = HIBP_RANGE_URL
    breached_api_timeout: float = 5.0
    """Seconds for the whole check of one password (connecting, asking, reading)."""
    breached_api_allow_http: bool = False
    """Allow a plain-http ``breached_api_url`` to this machine (a test server); else https."""
    breached_api_fail_open: bool | None = None
    """Accept a password when the API cannot be reached; None: only in a demonstration."""
    audit_anchor_file: Path | None = None
    """Where the app appends the audit log's head (entry number and hash); see chi.state.anchor."""
    audit_anchor_minutes: float = 60.0
    audit_anchor_key_file: Path | None = None
    """A file holding the secret that signs anchor lines (HMAC-SHA256); see chi.state.anchor."""
    source: Path | None = None
    """The file this configuration was read from, if any."""

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(f"auth.mode must be one of {', '.join(AUTH_MODES)}")
        if self.oidc.role_source not in ROLE_SOURCES:
            raise ValueError(f"oidc.role_source must be one of {', '.join(ROLE_SOURCES)}")
        if (
            self.auth_mode == "oidc"
            and self.oidc.role_source == "allow_list"
            and (self.oidc.allow_list is None)
        ):
            raise ValueError("oidc.role_source = 'allow_list' needs oidc.allow_list (a file)")
        if self.session_hours <= 0 or self.idle_minutes <= 0:
            raise ValueError("session_hours and idle_minutes must be positive")
        if self.lockout_attempts < 1 or self.lockout_minutes <= 0:
            raise ValueError("lockout_attempts must be at least 1 and lockout_minutes positive")
        if self.client_lockout_attempts < 1:
            raise ValueError("client_lockout_attempts must be at least 1")
        if self.breached_api_timeout <= 0 or self.audit_anchor_minutes <= 0:
            raise ValueError(
                "passwords.breached_api_timeout and audit.anchor_minutes must be positive"
            )
        if not self.breached_api_url.startswith("https://") and not (
            self.breached_api_allow_http
            and re.match(
                r"http://(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?/", self.breached_api_url
            )
        ):
            raise ValueError(
                "passwords.breached_api_url must be an https address (plain http only for a "
                "test server on this machine, with passwords.breached_api_allow_http = true)"
            )
        resolve(self.restricted_groups)


# (TOML table, key) -> field name, for every setting a file may give.
_APP_KEYS = {
    ("app", "runs_dir"): "runs_dir",
    ("app", "extract_dir"): "extract_dir",
    ("app", "state_path"): "state_path",
    ("app", "demo"): "demo",
    ("app", "allowed_hosts"): "allowed_hosts",
    ("auth", "mode"): "auth_mode",
    ("auth", "session_hours"): "session_hours",
    ("auth", "idle_minutes"): "idle_minutes",
    ("auth", "lockout_attempts"): "lockout_attempts",
    ("auth", "lockout_minutes"): "lockout_minutes",
    ("auth", "client_lockout_attempts"): "client_lockout_attempts",
    ("lists", "restricted_groups"): "restricted_groups",
    ("lists", "marking"): "marking",
    ("passwords", "breached_corpus"): "breached_corpus",
    ("passwords", "breached_api"): "breached_api",
    ("passwords", "breached_api_url"): "breached_api_url",
    ("passwords", "breached_api_timeout"): "breached_api_timeout",
    ("passwords", "breached_api_fail_open"): "breached_api_fail_open",
    ("passwords", "breached_api_allow_http"): "breached_api_allow_http",
    ("audit", "anchor_file"): "audit_anchor_file",
    ("audit", "anchor_key_file"): "audit_anchor_key_file",
    ("audit", "anchor_minutes"): "audit_anchor_minutes",
}
_PATHS = {
    "runs_dir",
    "extract_dir",
    "state_path",
    "breached_corpus",
    "audit_anchor_file",
    "audit_anchor_key_file",
}
_TYPES: dict[str, type] = {
    "demo": bool,
    "auth_mode": str,
    "session_hours": float,
    "idle_minutes": float,
    "lockout_attempts": int,
    "lockout_minutes": float,
    "client_lockout_attempts": int,
    "marking": str,
    "breached_api": bool,
    "breached_api_url": str,
    "breached_api_timeout": float,
    "breached_api_fail_open": bool,
    "breached_api_allow_http": bool,
    "audit_anchor_minutes": float,
}


def setting_names() -> list[str]:
    """Every setting a configuration file may hold, as ``table.key``."""
    oidc = [f"oidc.{f.name}" for f in fields(OidcSettings)]
    return [f"{t}.{k}" for t, k in _APP_KEYS] + oidc


def _value(name: str, raw: Any, base: Path) -> Any:
    if name in _PATHS:
        if not isinstance(raw, str) or not raw:
            raise ValueError(f"{name} must be a path")
        p = Path(raw).expanduser()
        return p if p.is_absolute() else base / p
    if name == "allowed_hosts":
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
            raise ValueError("app.allowed_hosts must be a list of host names")
        return tuple(raw)
    if name == "restricted_groups":
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise ValueError("lists.restricted_groups must be a list of group names")
        return tuple(raw)
    want = _TYPES[name]
    if want is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if not isinstance(raw, want) or (want is int and isinstance(raw, bool)):
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(want, "text")
        raise ValueError(f"{name} = {raw!r} must be {kind}")
    return raw


def config_from_mapping(doc: dict[str, Any], base: Path, source: Path | None = None) -> AppConfig:
    known_tables = {t for t, _ in _APP_KEYS} | {"oidc", "policy"}
    values: dict[str, Any] = {}
    for table, section in doc.items():
        if table not in known_tables:
            raise ValueError(f"unknown configuration table [{table}]")
        if table in ("policy", "oidc"):
            continue
        if not isinstance(section, dict):
            raise ValueError(f"[{table}] must be a table")
        for key, raw in section.items():
            name = _APP_KEYS.get((table, key))
            if name is None:
                raise ValueError(f"unknown setting {table}.{key}")
            values[name] = _value(name, raw, base)
    oidc_doc = doc.get("oidc", {})
    if not isinstance(oidc_doc, dict):
        raise ValueError("[oidc] must be a table")
    oidc_fields = {f.name for f in fields(OidcSettings)}
    oidc_values: dict[str, Any] = {}
    for key, raw in oidc_doc.items():
        if key not in oidc_fields:
            raise ValueError(f"unknown setting oidc.{key}")
        if key == "allow_list":
            oidc_values[key] = _value("state_path", raw, base)
        elif not isinstance(raw, str):
            raise ValueError(f"oidc.{key} must be text")
        else:
            oidc_values[key] = raw
    return AppConfig(**values, oidc=replace(OidcSettings(), **oidc_values), source=source)


def load_config(path: Path | None = None) -> AppConfig:
    """The configuration from ``path``, else from ``$CHI_CONFIG``, else the defaults."""
    if path is None:
        env = os.environ.get(CONFIG_ENV, "").strip()
        path = Path(env) if env else None
    if path is None:
        return AppConfig()
    if not path.is_file():
        raise ValueError(f"{path}: configuration file not found")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    return config_from_mapping(doc, path.resolve().parent, source=path.resolve())
