"""A small deterministic extract and scored runs for the app's tests.

Generated in code from ``random.Random(42)`` with the hand-made factory (never committed):
about 300 people in eight wards of both policing areas, two years of crime with domestic
abuse, sexual offences, suspects and a few awkward names (a spreadsheet formula, non-Latin
script). Scoring it takes a couple of seconds, so test modules share one copy per session.
"""

from __future__ import annotations

import importlib
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

from factory import crime, person, suspect, victim, write_extract

from chi.app.server import APP_SCRIPT
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish

# (ward code, ward name, area, an LSOA in it)
WARDS = [
    ("E05013051", "Arbury", "South", "E01017949"),
    ("E05013050", "Abbey", "South", "E01017943"),
    ("E05013052", "Castle", "South", "E01035511"),
    ("E05013061", "Romsey", "South", "E01017997"),
    ("E05010807", "Central", "North", "E01015599"),
    ("E05010806", "Bretton", "North", "E01015591"),
    ("E05010808", "Dogsthorpe", "North", "E01015605"),
    ("E05010805", "Barnack", "North", "E01015589"),
]
ARBURY, ABBEY, CASTLE, ROMSEY, CENTRAL, BRETTON, DOGSTHORPE, BARNACK = (w[0] for w in WARDS)
SOUTH = {w[0] for w in WARDS if w[2] == "South"}
NORTH = {w[0] for w in WARDS if w[2] == "North"}

# (offence key, relative frequency); weights from the CHI 2020 sheet in the comments.
OFFENCES = [
    ("8N.8.6.0", 30),  # ABH, 10 days
    ("8L.195.94.0", 20),  # harassment, 10
    ("39.39.0.0", 15),  # theft from the person, 2
    ("28E.28.3.1", 10),  # residential burglary, 19
    ("34B.34.1.2", 5),  # personal robbery, 365
    ("105.8.67.0", 6),  # controlling or coercive behaviour, 84
    ("20A.20.5.0", 5),  # sexual assault on a female, 19 (restricted: sexual offences)
    ("19C.19.8.0", 2),  # rape of a female 16 or over, 1825 (restricted)
    ("5D.5.1.0", 2),  # wounding with intent, 1460
    ("8R.8.72.0", 5),  # malicious communications, 2
]
SEXUAL = {"20A.20.5.0", "19C.19.8.0"}
DA_OFFENCES = {"8N.8.6.0", "105.8.67.0", "8L.195.94.0", "20A.20.5.0", "19C.19.8.0"}

FORENAMES = ["Amy", "Ben", "Chloe", "Dev", "Ella", "Femi", "Grace", "Hari", "Isla", "Jon"]
SURNAMES = ["Adams", "Baker", "Clarke", "Dunn", "Evans", "Fox", "Gill", "Hall", "Iqbal", "Jones"]
# Names a list must survive: a spreadsheet formula and scripts outside Latin-1.
AWKWARD_NAMES = {
    "V0000": '=HYPERLINK("http://example.invalid","click")',
    "V0001": "Zoë Łukasiewicz",
    "V0002": "李小龍",
}


@dataclass(frozen=True)
class Fixture:
    extract: Path
    runs_dir: Path
    run_id: str
    months: list[str]


def _rows(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    persons: list[dict[str, Any]] = []
    homes: dict[str, str] = {}
    for i in range(260):
        pid = f"V{i:04d}"
        ward = WARDS[i % len(WARDS)]
        home = ward[3] if rng.random() < 0.9 else None
        name = AWKWARD_NAMES.get(pid, f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}")
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
        persons.append(person(pid, name=name, birth_date=birth, home_lsoa_code=home))
        homes[pid] = ward[3]
    offenders = []
    for i in range(60):
        pid = f"S{i:04d}"
        ward = WARDS[i % len(WARDS)]
        persons.append(
            person(
                pid,
                name=f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}",
                sex="M",
                home_lsoa_code=ward[3],
            )
        )
        offenders.append(pid)
    persons.append(person("ORG1", person_type="organisation", name="Corner Shop Ltd"))

    crimes: list[dict[str, Any]] = []
    victims: list[dict[str, Any]] = []
    suspects: list[dict[str, Any]] = []
    keys = [k for k, _ in OFFENCES]
    freq = [f for _, f in OFFENCES]
    # A few heavily victimised people make the lists; most people have one or two crimes.
    weights_by_person = [8.0 if i % 9 == 0 else 1.0 for i in range(260)]
    start = date(2023, 1, 1)
    for n in range(1500):
        cid = f"37/{100000 + n}/2{n % 2 + 3}"
        recorded = start + timedelta(days=rng.randrange(0, 731))
        offence = rng.choices(keys, freq)[0]
        vid = f"V{rng.choices(range(260), weights_by_person)[0]:04d}"
        da = offence in DA_OFFENCES and rng.random() < 0.5
        crimes.append(
            crime(
                cid,
                recorded.isoformat(),
                offence_code=offence,
                lsoa_code=homes[vid] if rng.random() < 0.8 else rng.choice(WARDS)[3],
                domestic_abuse=da,
                da_relationship=rng.choice(["intimate_partner", "ex_partner", "family"])
                if da
                else None,
            )
        )
        victims.append(
            victim(cid, vid, dash_risk=rng.choice(["standard", "medium", "high"]) if da else None)
        )
        if da or rng.random() < 0.4:
            # DA offenders are tied to a victim so that dyads repeat.
            sid = offenders[int(vid[1:]) % 60] if da else rng.choice(offenders)
            suspects.append(suspect(cid, sid, rng.choice(["suspect", "offender", "charged"])))
        if n % 97 == 0:
            victims.append(victim(cid, "ORG1"))
    # V0009 (often victimised) is also a suspect (for the person view's suspect flag).
    for k in range(4):
        cid = f"37/9{k:05d}/24"
        crimes.append(crime(cid, f"2024-0{k + 3}-15", offence_code="8N.8.6.0"))
        victims.append(victim(cid, "V0100"))
        suspects.append(suspect(cid, "V0009"))
    return {"crimes": crimes, "persons": persons, "victims": victims, "suspects": suspects}


def build_extract(folder: Path, seed: int = 42) -> Path:
    return write_extract(folder, **_rows(random.Random(seed)), as_of="2024-12-31")


# No list size and no specialist teams: the app tests compare pages with the whole list
# (tests/test_list_sizing.py and tests/test_list_pages.py cover sizing).
TEST_POLICY = Policy(min_harm=Decimal(100), min_crimes=4, list_size=0, specialist_rule="none")
MONTHS = "2024-01:2024-12"


def build_fixture(root: Path, policy: Policy = TEST_POLICY) -> Fixture:
    extract = build_extract(root / "extract")
    runs_dir = root / "runs"
    path = score_and_publish(extract, runs_dir, policy, MONTHS)
    run = open_run(path)
    return Fixture(extract, runs_dir, run.run_id, list(run.manifest.months))


# The app's state and configuration around a fixture run.


class HasherArgs(TypedDict):
    time_cost: int
    memory_cost: int
    parallelism: int


FAST_HASHER_ARGS: HasherArgs = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
"""A fast argon2 ``PasswordHasher`` for tests (``PasswordHasher(**FAST_HASHER_ARGS)``)."""
PASSWORD = "correct horse battery"

# username -> (role, scope)
USERS: dict[str, tuple[str, str]] = {
    "sergeant": ("neighbourhood", f"{ARBURY},{ABBEY}"),
    "arbury": ("neighbourhood", ARBURY),
    "abbey": ("neighbourhood", ABBEY),
    "castle": ("neighbourhood", CASTLE),
    "romsey": ("neighbourhood", ROMSEY),
    "central": ("neighbourhood", CENTRAL),
    "bretton": ("neighbourhood", BRETTON),
    "peterborough": ("neighbourhood", f"{DOGSTHORPE},{BARNACK}"),
    "north": ("area", "North"),
    "south": ("area", "South"),
    "analyst": ("analyst", ""),
    "admin": ("admin", ""),
}


@dataclass(frozen=True)
class AppEnv:
    root: Path
    config: Path
    fixture: Fixture

    @property
    def state(self) -> Path:
        return self.root / "state.sqlite"


def write_config(root: Path, fixture: Fixture, demo: bool = False, extra: str = "") -> Path:
    config = root / "chi.toml"
    config.write_text(
        "[app]\n"
        f"runs_dir = {str(fixture.runs_dir)!r}\n"
        f"extract_dir = {str(fixture.extract)!r}\n"
        f"state_path = {str(root / 'state.sqlite')!r}\n"
        f"demo = {'true' if demo else 'false'}\n" + extra,
        encoding="utf-8",
    )
    return config


def make_app_env(
    root: Path, fixture: Fixture, demo: bool = False, extra: str = "", own_runs: bool = False
) -> AppEnv:
    """Configuration and a state store with ``USERS``; ``own_runs`` copies the runs folder
    (for tests that publish runs, so other modules keep seeing the shared one)."""
    from argon2 import PasswordHasher

    from chi.state.store import Store

    root.mkdir(parents=True, exist_ok=True)
    if own_runs:
        shutil.copytree(fixture.runs_dir, root / "runs", symlinks=True)
        fixture = replace(fixture, runs_dir=root / "runs")
    config = write_config(root, fixture, demo, extra)
    # The accounts' passwords are checked against chi's sample, whatever $CHI_CONFIG names
    # (a store given no policy reads it, and these configurations have no mirror).
    from chi.state.passwords import PasswordPolicy

    store = Store(
        root / "state.sqlite",
        hasher=PasswordHasher(**FAST_HASHER_ARGS),
        password_policy=PasswordPolicy(),
    )
    for username, (role, scope) in USERS.items():
        store.add_user(username, PASSWORD, role, scope)
    return AppEnv(root, config, fixture)


_SHARED: dict[str, Fixture] = {}


def shared_fixture(tmp_path_factory: Any) -> Fixture:
    """One scored fixture run per test session, whichever module asks first."""
    if "run" not in _SHARED:
        _SHARED["run"] = build_fixture(tmp_path_factory.mktemp("app-fixture"))
    return _SHARED["run"]


# Driving the app with Streamlit's AppTest.

APP = APP_SCRIPT
"""The script Streamlit runs, inside the package (``chi/app/script/chi_app.py``)."""


def app_test(env: AppEnv, username: str | None = None) -> Any:
    """The app as ``username`` (signed in through a fresh session in the state store), or
    signed out. ``CHI_CONFIG`` must name ``env.config`` while it runs."""
    from streamlit.testing.v1 import AppTest

    from chi.state.store import Store

    at = AppTest.from_file(str(APP), default_timeout=60)
    if username is not None:
        at.session_state["chi_session"] = Store(env.state).start_session(username, 8).token
    return at


def goto(at: Any, url_path: str) -> Any:
    """Ask for a page by its URL path, as a browser opening ``/url_path`` does (AppTest's own
    ``switch_page`` takes only page files)."""
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(url_path)
    return at.run()


PAGE_PATHS = (
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
    "audit",
    "users",
)


def registered_pages(at: Any) -> set[str]:
    """The URL paths of the pages the last run's navigation offered (a page's hash is the
    hash of its URL path, also for the default page, which is served at ``/``)."""
    from streamlit.util import calc_hash

    offered = set(at._registered_pages)
    return {p for p in (*PAGE_PATHS, "signin") if calc_hash(p) in offered}


def table(at: Any, index: int = 0) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = at.dataframe[index].value.to_dict("records")
    return rows


@contextmanager
def one_runtime() -> Iterator[None]:
    """Let AppTest sessions run at the same time, as sessions of one server do.

    Each ``AppTest.run`` installs a mock Streamlit runtime in a process-wide slot and empties
    the slot when it ends, and switches a process-wide testing option on and off around the
    run; either would pull the ground from under a session still running in another thread.
    Here the first run's runtime is kept for all of them (one server, one runtime, one set of
    caches) and the option stays on until the block ends.
    """
    from streamlit.runtime import Runtime
    from streamlit.testing.v1.util import patch_config_options

    @contextmanager
    def already_patched(options: dict[str, Any]) -> Iterator[None]:
        yield

    class KeepFirstRuntime:
        def __getattr__(self, name: str) -> Any:
            return getattr(Runtime, name)

        def __setattr__(self, name: str, value: Any) -> None:
            if name != "_instance":
                setattr(Runtime, name, value)
            elif value is not None and Runtime._instance is None:
                Runtime._instance = value

        def __dir__(self) -> list[str]:
            return dir(Runtime)

    # Streamlit's own module, whose imported names it does not export: patched as Any.
    app_test_module: Any = importlib.import_module("streamlit.testing.v1.app_test")
    real_runtime, real_patch = app_test_module.Runtime, app_test_module.patch_config_options
    app_test_module.Runtime = KeepFirstRuntime()
    app_test_module.patch_config_options = already_patched
    try:
        with patch_config_options({"global.appTest": True}):
            yield
    finally:
        app_test_module.Runtime = real_runtime
        app_test_module.patch_config_options = real_patch
        Runtime._instance = None
