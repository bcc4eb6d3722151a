"""``chi.toml``, the one file a force keeps: every table of it is read here and only here.

The tables: ``[app]``, ``[auth]``, ``[oidc]`` and ``[lists]`` (the app's configuration: where
runs and state live, how people sign in, what is restricted), ``[geography]`` (``path``:
the force's geography file, whose policing areas and neighbourhoods scoring, the app and the
command line use; ``CHI_GEOGRAPHY`` overrides it), ``[policy]`` (the list policy,
turned into a :class:`chi.scoring.policy.Policy` by that module) and ``[card]`` (who owns the
forecast model, for :mod:`chi.forecast.card`). :data:`TABLES` is the one list of table names
and keys; an unknown table or key is refused with one line naming the file, table and key, so
a typing mistake stops the command instead of being ignored. ``read_toml`` is the one TOML
reader (the allow-list file uses it too).

The app finds the file by the ``CHI_CONFIG`` environment variable; without it the defaults
below serve a working copy (runs in ``./runs``, state in ``./state.sqlite``, local accounts).
``chi score`` and ``chi model card`` read ``--config`` or ``./chi.toml``. Relative paths are
taken from the file's folder, so the file can be moved with its data. Every setting is listed
in ``docs/deployment.md``, README.md (policy) or docs/backtesting.md (card), and every
``chi.toml`` block of those pages loads (tests check both).

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
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from chi.offences import resolve

CONFIG_ENV = "CHI_CONFIG"
HANDLING_MARKING = "OFFICIAL-SENSITIVE"
"""The Government Security Classification marking every list, download and pack carries."""
HIBP_RANGE_URL = "https://api.pwnedpasswords.com/range/"
"""Have I Been Pwned's Pwned Passwords range API (k-anonymity: only 5 hex characters leave)."""
MAX_API_TIMEOUT = 120.0
"""The longest passwords.breached_api_timeout (seconds): a person waits for the answer."""
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
    geography: Path | None = None
    """``[geography] path``: the force's geography file (the shape of
    ``data/geography/lsoa.csv``); None: the shipped Cambridgeshire file. ``CHI_GEOGRAPHY``
    overrides it (``chi.reference.configured_geography``)."""
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
        if not (0 < self.breached_api_timeout <= MAX_API_TIMEOUT):  # nan fails this too
            raise ValueError(
                "passwords.breached_api_timeout must be a number of seconds above 0 and at "
                f"most {MAX_API_TIMEOUT:g}"
            )
        if not (0 < self.audit_anchor_minutes < float("inf")):
            raise ValueError("audit.anchor_minutes must be a positive number")
        try:
            parts = urllib.parse.urlsplit(self.breached_api_url)
            _ = parts.port
            host = parts.hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError(
                "passwords.breached_api_url is not an address with a host (it does not parse)"
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
    ("geography", "path"): "geography",
}
_PATHS = {
    "runs_dir",
    "extract_dir",
    "state_path",
    "breached_corpus",
    "audit_anchor_file",
    "audit_anchor_key_file",
    "geography",
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


POLICY_KEYS = (
    "window_months",
    "min_harm",
    "min_crimes",
    "weights",
    "historic_months",
    "historic_counted",
    "class_rule",
    "offender_min_harm",
    "offender_min_crimes",
    "rfg_recency",
    "rfg_frequency",
    "rfg_gravity",
    "timezone",
    "list_size",
    "specialist_rule",
    "specialist_teams",
    "agenda_new",
)
"""The keys of ``[policy]``: the fields of ``chi.scoring.policy.Policy`` (a test checks)."""
CARD_KEYS = ("organisation", "team", "owner", "contact")
"""The keys of ``[card]``: the fields of ``chi.forecast.card.Owner`` (a test checks)."""

TABLES: dict[str, tuple[str, ...]] = {
    **{t: tuple(k for tt, k in _APP_KEYS if tt == t) for t, _ in _APP_KEYS},
    "oidc": tuple(f.name for f in fields(OidcSettings)),
    "policy": POLICY_KEYS,
    "card": CARD_KEYS,
}
"""Every table of ``chi.toml`` and the keys it may hold."""


@dataclass(frozen=True)
class Settings:
    """Everything ``chi.toml`` says, each table checked for unknown keys."""

    app: AppConfig = field(default_factory=AppConfig)
    policy: Mapping[str, Any] = field(default_factory=dict)
    """``[policy]`` as written; ``chi.scoring.policy.load_policy`` checks the values."""
    card: Mapping[str, str] = field(default_factory=dict)
    """``[card]``: the model card's organisation, team, owner and contact."""
    source: Path | None = None


def setting_names() -> list[str]:
    """Every app setting a configuration file may hold, as ``table.key`` (docs/deployment.md)."""
    return [f"{t}.{k}" for t, keys in TABLES.items() if t not in ("policy", "card") for k in keys]


def read_toml(path: Path, what: str = "configuration") -> dict[str, Any]:
    """The one TOML reader: the document, or a ``ValueError`` of one line naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise ValueError(f"{path}: {what} file not readable ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: byte {exc.start + 1} is not UTF-8 text (TOML files are UTF-8)"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None


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


def _check_tables(doc: Mapping[str, Any]) -> None:
    for table, section in doc.items():
        if table not in TABLES and not isinstance(section, dict):
            # A key above every table header (`min_harm = 3` before `[policy]`) is a setting
            # written in the wrong place, not a table: say which table holds it, if any.
            homes = [t for t, keys in TABLES.items() if table in keys]
            raise ValueError(
                f"unknown setting {table} at the top of the file; every setting belongs in a "
                "table: "
                + (
                    f"put it under [{homes[0]}]"
                    if homes
                    else f"the tables are {', '.join(f'[{t}]' for t in TABLES)}"
                )
            )
        if table not in TABLES:
            raise ValueError(
                f"unknown configuration table [{table}]; expected one of "
                f"{', '.join(f'[{t}]' for t in TABLES)}"
            )
        if not isinstance(section, dict):
            raise ValueError(f"[{table}] must be a table")
        for key in section:
            if key not in TABLES[table]:
                raise ValueError(f"unknown setting {table}.{key} (in table [{table}])")


def _app_config(doc: Mapping[str, Any], base: Path, source: Path | None) -> AppConfig:
    values: dict[str, Any] = {}
    for (table, key), name in _APP_KEYS.items():
        if key in doc.get(table, {}):
            values[name] = _value(name, doc[table][key], base)
    oidc_values: dict[str, Any] = {}
    for key, raw in doc.get("oidc", {}).items():
        if key == "allow_list":
            oidc_values[key] = _value("state_path", raw, base)
        elif not isinstance(raw, str):
            raise ValueError(f"oidc.{key} must be text")
        else:
            oidc_values[key] = raw
    return AppConfig(**values, oidc=replace(OidcSettings(), **oidc_values), source=source)


def settings_from_mapping(
    doc: Mapping[str, Any], base: Path, source: Path | None = None
) -> Settings:
    """Every table of a parsed ``chi.toml``; relative paths are taken from ``base``."""
    _check_tables(doc)
    card = dict(doc.get("card", {}))
    for key, raw in card.items():
        if not isinstance(raw, str):
            raise ValueError(f"card.{key} = {raw!r} must be text")
    return Settings(
        app=_app_config(doc, base, source),
        policy=dict(doc.get("policy", {})),
        card=card,
        source=source,
    )


def config_from_mapping(doc: dict[str, Any], base: Path, source: Path | None = None) -> AppConfig:
    return settings_from_mapping(doc, base, source).app


def read_settings(path: Path) -> Settings:
    """Every table of the file at ``path``; any problem is one line naming the file."""
    doc = read_toml(path)
    try:
        return settings_from_mapping(doc, path.resolve().parent, source=path.resolve())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_settings(path: Path | None = None) -> Settings:
    """The app's settings: from ``path``, else from ``$CHI_CONFIG``, else the defaults."""
    if path is None:
        env = os.environ.get(CONFIG_ENV, "").strip()
        path = Path(env) if env else None
    return Settings() if path is None else read_settings(path)


def local_settings(path: Path | None = None) -> Settings:
    """A command's settings: from ``--config`` (which must exist), else ``./chi.toml`` if
    there is one, else the defaults."""
    if path is not None:
        return read_settings(path)
    here = Path("chi.toml")
    return read_settings(here) if here.is_file() else Settings()


def load_config(path: Path | None = None) -> AppConfig:
    """The app configuration from ``path``, else from ``$CHI_CONFIG``, else the defaults."""
    return load_settings(path).app
