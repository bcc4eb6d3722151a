"""The project's own rules, checked so they cannot drift: lint, types, layering, docs."""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.main import get_command

from chi.cli import app
from chi.scoring.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the dev extra (pip install -e '.[dev]')")
    return found


def test_ruff_lint_and_format_are_clean() -> None:
    lint = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [_tool("ruff"), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_app_package_imports_streamlit() -> None:
    """Nothing under chi/ but chi/app imports streamlit, directly or through chi.app."""
    offenders = []
    for path in sorted((ROOT / "chi").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("chi/app/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            if any(n.split(".")[0] == "streamlit" or n.startswith("chi.app") for n in names):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```(?:sh|bash|console)?\n(.+?)\n```", text, flags=re.S)


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one() -> None:
    blocks = _readme_commands()
    assert len(blocks) >= 2
    first, second = blocks[0].strip(), blocks[1].strip()
    assert "\n" not in first and "\n" not in second, "each command is one line"
    assert "python3 -m venv" in first and "python3 -m venv" in second
    assert "pytest" in second
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci.splitlines(), "`.ci/run` must run exactly the README's test command"


def test_every_policy_setting_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (
        ROOT / "docs" / "scoring.md"
    ).read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Policy) if f"`{f.name}`" not in docs]
    assert missing == []


def test_every_command_has_help_text() -> None:
    group = get_command(app)
    assert isinstance(group, typer.core.TyperGroup)

    def walk(cmd: object, path: str) -> list[str]:
        missing = []
        helptext = getattr(cmd, "help", None)
        if not helptext:
            missing.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            missing += walk(sub, f"{path} {name}")
        return missing

    assert walk(group, "chi") == []
