"""``chi.toml``: one module reads every table of it (issue 10). A force keeps one file, so the
app, ``chi score`` and the model card all read it whole: a table one of them owns must not
stop another (the ``[card]`` table once made the app refuse to start), and a typing mistake in
any table stops every one of them with one line naming the file, the table and the key.
Every ``chi.toml`` block the docs show is parsed out of the docs here and loaded."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chi.cli import app
from chi.cli.forecast import card_owner
from chi.forecast.card import Owner
from chi.scoring.policy import Policy, load_policy
from chi.settings import (
    CARD_KEYS,
    POLICY_KEYS,
    TABLES,
    load_config,
    load_settings,
    read_settings,
    setting_names,
)

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

CARD_TOML = """
[app]
state_path = "state.sqlite"

[policy]
min_harm = 100

[card]
organisation = "Cambridgeshire Constabulary"
owner = "Head of Analysis"
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "chi.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_card_table_does_not_stop_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, CARD_TOML)
    monkeypatch.setenv("CHI_CONFIG", str(path))
    # The app reads $CHI_CONFIG through load_config at start; so does `chi users`.
    assert load_config().state_path == tmp_path / "state.sqlite"
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 0, result.output
    assert "no accounts" in result.output
    assert load_policy(path).min_harm == Decimal("100")
    assert card_owner(path, None, "Analysis team", None, None) == Owner(
        organisation="Cambridgeshire Constabulary",
        team="Analysis team",
        owner="Head of Analysis",
        contact="",
    )


def test_chi_toml_in_the_working_folder_is_read_by_score_and_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, CARD_TOML)
    monkeypatch.chdir(tmp_path)
    assert load_policy().min_harm == Decimal("100")
    assert load_policy(min_harm=Decimal("50")).min_harm == Decimal("50"), "flags win"
    assert card_owner(None, None, None, None, "a@b.example").owner == "Head of Analysis"
    (tmp_path / "chi.toml").unlink()
    assert load_policy() == Policy()
    assert card_owner(None, None, None, None, None) == Owner()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[app]\nrun_dir = 'x'\n", ["unknown setting app.run_dir", "[app]"]),
        ("[policy]\nmin_harms = 3\n", ["unknown setting policy.min_harms", "[policy]"]),
        ("[card]\nowners = 'x'\n", ["unknown setting card.owners", "[card]"]),
        ("[cards]\nowner = 'x'\n", ["unknown configuration table [cards]", "[card]"]),
        ("[card]\nowner = 3\n", ["card.owner = 3 must be text"]),
        ("card = 'x'\n", ["[card] must be a table"]),
        (
            "min_harm = 3\n[app]\n",
            ["unknown setting min_harm at the top of the file", "put it under [policy]"],
        ),
        ("colour = 'red'\n", ["unknown setting colour at the top of the file", "[app]"]),
        ("[app\n", ["not valid TOML"]),
    ],
)
def test_every_reader_refuses_a_mistake_in_any_table_naming_file_table_and_key(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    path = _write(tmp_path, text)
    readers: list[Callable[[], object]] = [
        lambda: load_config(path),
        lambda: load_policy(path),
        lambda: card_owner(path, None, None, None, None),
    ]
    for read in readers:
        with pytest.raises(ValueError) as caught:
            read()
        message = str(caught.value)
        assert "\n" not in message and message.startswith(f"{path}: ")
        for word in words:
            assert word in message


def test_a_configuration_file_that_is_not_utf8_is_named_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "chi.toml"
    path.write_bytes("[card]\nowner = 'Ren\xe9e'\n".encode("latin-1"))  # saved as Latin-1
    for read in (lambda: load_config(path), lambda: load_policy(path)):
        with pytest.raises(ValueError) as caught:
            read()
        message = str(caught.value)
        assert message == f"{path}: byte 20 is not UTF-8 text (TOML files are UTF-8)"


def test_a_bad_policy_value_names_the_file_and_table(tmp_path: Path) -> None:
    path = _write(tmp_path, "[policy]\nmin_crimes = 'three'\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}: [policy] policy setting min_crimes")):
        load_policy(path)


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    for read in (
        lambda: load_config(missing),
        lambda: load_policy(missing),
        lambda: card_owner(missing, None, None, None, None),
    ):
        with pytest.raises(ValueError, match="configuration file not found"):
            read()


def test_the_table_keys_are_the_fields_of_what_they_configure() -> None:
    assert tuple(f.name for f in fields(Policy)) == POLICY_KEYS
    assert tuple(f.name for f in fields(Owner)) == CARD_KEYS


def _chi_toml_blocks(doc: Path) -> list[str]:
    """The TOML code blocks of a docs page that show ``chi.toml`` (first line says so)."""
    text = doc.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    return [b for b in blocks if "chi.toml" in b.splitlines()[0]]


@pytest.mark.parametrize(
    ("page", "tables"),
    [
        ("docs/deployment.md", {"app", "auth", "oidc", "lists", "policy"}),
        ("docs/backtesting.md", {"card"}),
        ("README.md", {"policy"}),
    ],
)
def test_every_chi_toml_block_in_the_docs_loads(
    tmp_path: Path, page: str, tables: set[str]
) -> None:
    blocks = _chi_toml_blocks(ROOT / page)
    assert blocks, f"{page} shows no chi.toml block"
    shown: set[str] = set()
    for block in blocks:
        doc = tomllib.loads(block)
        shown |= set(doc)
        path = _write(tmp_path, block)
        settings = read_settings(path)
        for table, section in doc.items():
            for key, value in section.items():
                if table == "policy":
                    assert settings.policy[key] == value
                elif table == "card":
                    assert settings.card[key] == value
        load_policy(path)
        card_owner(path, None, None, None, None)
    assert tables <= shown


def test_every_table_and_key_is_documented() -> None:
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    backtesting = (ROOT / "docs" / "backtesting.md").read_text(encoding="utf-8")
    assert [n for n in setting_names() if f"`{n}`" not in deployment] == []
    assert [k for k in TABLES["policy"] if f"`{k}`" not in readme] == []
    card_doc = tomllib.loads(_chi_toml_blocks(ROOT / "docs" / "backtesting.md")[0])
    assert set(card_doc["card"]) == set(TABLES["card"])
    assert "[card]" in backtesting
    for table in TABLES:
        assert f"[{table}]" in deployment or table == "card", table


def test_no_file_means_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.source is None and dict(settings.policy) == {} and dict(settings.card) == {}
