"""Shared fixtures: synthetic extracts built once per test session.

``generated_extract`` is the demo-sized extract most tests score (24 months from 2023-01,
seed 7, default defects, with its truth files); ``clean_extract`` is a year with no defects
at all (12 months from 2024-01, seed 11). Both take a few seconds to build and must never
be modified by a test: copy them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chi.generate import GenerateOptions, generate_extract

GENERATED = GenerateOptions(seed=7, start="2023-01", months=24)
CLEAN = GenerateOptions(seed=11, start="2024-01", months=12, defect_rate=0.0)


@pytest.fixture(scope="session", autouse=True)
def demonstration_policy_for_unconfigured_stores() -> Iterator[Callable[[], object]]:
    """A store opened with no policy and no $CHI_CONFIG uses production's policy (no
    password without a maintained breached-password check): the suite's stores that set
    passwords are demonstrations, so they get the demonstration policy (the bundled
    sample), for the whole session (module- and session-scoped fixtures make accounts too),
    except in tests marked ``production_default``, which check that default itself. Yields
    the real default."""
    from chi.state import accounts
    from chi.state.passwords import PasswordPolicy

    real = accounts.unconfigured_policy
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "unconfigured_policy", PasswordPolicy)
        yield real


@pytest.fixture(autouse=True)
def production_default_where_marked(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    demonstration_policy_for_unconfigured_stores: Callable[[], object],
) -> None:
    """Tests marked ``production_default`` see the real default of an unconfigured store."""
    if request.node.get_closest_marker("production_default") is not None:
        from chi.state import accounts

        monkeypatch.setattr(
            accounts, "unconfigured_policy", demonstration_policy_for_unconfigured_stores
        )


@pytest.fixture(autouse=True)
def no_configured_geography_after_a_test() -> Iterator[None]:
    """A command or app page that read a ``chi.toml`` with ``[geography] path`` makes it the
    process's geography (``chi.reference.use_geography``); the next test starts without it."""
    yield
    from chi.reference import use_geography

    use_geography(None)


@pytest.fixture(scope="session")
def generated_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "extract"
    generate_extract(out, GENERATED)
    return out


@pytest.fixture(scope="session")
def clean_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "extract"
    generate_extract(out, CLEAN)
    return out
