"""Shared fixtures: synthetic extracts built once per test session.

``generated_extract`` is the demo-sized extract most tests score (24 months from 2023-01,
seed 7, default defects, with its truth files); ``clean_extract`` is a year with no defects
at all (12 months from 2024-01, seed 11). Both take a few seconds to build and must never
be modified by a test: copy them first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chi.generate import GenerateOptions, generate_extract

GENERATED = GenerateOptions(seed=7, start="2023-01", months=24)
CLEAN = GenerateOptions(seed=11, start="2024-01", months=12, defect_rate=0.0)


@pytest.fixture(autouse=True)
def demonstration_policy_for_unconfigured_stores(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store opened with no policy and no $CHI_CONFIG uses production's policy (no
    password without a maintained breached-password check): the suite's stores that set
    passwords are demonstrations, so they get the demonstration policy (the bundled
    sample) explicitly, except in tests marked ``production_default``, which check that
    default itself."""
    if request.node.get_closest_marker("production_default") is None:
        from chi.state import accounts
        from chi.state.passwords import PasswordPolicy

        monkeypatch.setattr(accounts, "unconfigured_policy", PasswordPolicy)


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
