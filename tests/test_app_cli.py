"""``chi users`` and ``chi demo --no-serve``: accounts managed from the command line, and a
demonstration prepared in one folder with demo-only accounts."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from app_fixtures import ARBURY, CASTLE, Fixture, shared_fixture
from typer.testing import CliRunner

from chi.cli import app
from chi.scoring.runs import latest_run_id
from chi.settings import load_config
from chi.state.store import Store

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "chi.toml"
    # A production configuration sets passwords only with a maintained breached-password
    # check: here a (tiny) mirror in the Pwned Passwords single-file format, with the 4 GiB
    # minimum of a real one lowered (tests/test_password_policy.py checks that minimum).
    from chi.state import breached

    monkeypatch.setattr(breached, "MIN_SORTED_BYTES", 1)
    (tmp_path / "hibp.txt").write_text(f"{'0' * 40}:1\n", encoding="ascii")
    path.write_text(
        '[app]\nstate_path = "state.sqlite"\n[passwords]\nbreached_corpus = "hibp.txt"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CHI_CONFIG", str(path))
    return path


def chi(*args: str, password: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=None if password is None else password + "\n")
    return result.exit_code, result.output


def test_users_add_list_set_password_remove(config: Path) -> None:
    code, out = chi(
        "users", "add", "jsmith", "--role", "neighbourhood",
        "--neighbourhood", ARBURY, "--neighbourhood", CASTLE, "--password-stdin",
        password="a long enough password",
    )  # fmt: skip
    assert code == 0, out
    assert "added jsmith: neighbourhood, Arbury, Castle" in out
    assert chi("users", "add", "lead", "--role", "area", "--area", "north", "--password-stdin",
               password="another long password")[0] == 0  # fmt: skip
    store = Store(load_config().state_path)
    assert store.check_password("jsmith", "a long enough password").account is not None
    code, out = chi("users", "list")
    assert code == 0
    assert "jsmith" in out and "Arbury, Castle" in out and "North area" in out
    assert "a long enough password" not in out
    code, _ = chi(
        "users", "set-password", "jsmith", "--password-stdin", password="a fresh kestrel voyage"
    )
    assert code == 0
    assert store.check_password("jsmith", "a fresh kestrel voyage").account is not None
    assert chi("users", "remove", "jsmith")[0] == 0
    assert store.account("jsmith") is None
    actions = [r["action"] for r in reversed(store.audit_log())]
    assert actions == ["account_added", "account_added", "password_set", "account_removed"]
    assert all(r["username"].startswith("cli") for r in store.audit_log())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "neighbourhood"], "one or more neighbourhood codes"),
        (["--role", "neighbourhood", "--neighbourhood", "E05999999"], "unknown neighbourhood"),
        (["--role", "area", "--area", "East"], "North or South"),
        (["--role", "wizard"], "unknown role"),
    ],
)
def test_users_add_refuses_bad_roles_and_scopes(
    config: Path, args: list[str], message: str
) -> None:
    code, out = chi("users", "add", "x", *args, "--password-stdin", password="long enough pw")
    assert code == 2 and message in out


def test_users_add_refuses_short_passwords_and_duplicates(config: Path) -> None:
    code, out = chi(
        "users", "add", "ana", "--role", "analyst", "--password-stdin", password="short"
    )
    assert code == 2 and "at least 12" in out
    assert chi("users", "add", "ana", "--role", "analyst", "--password-stdin",
               password="long enough pw")[0] == 0  # fmt: skip
    code, out = chi("users", "add", "ana", "--role", "analyst", "--password-stdin",
                    password="long enough pw")  # fmt: skip
    assert code == 2 and "already exists" in out
    code, out = chi("users", "remove", "nobody")
    assert code == 2 and "no account" in out


def test_demo_prepares_a_folder_without_serving(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fixture: Fixture = shared_fixture(tmp_path_factory)
    folder = tmp_path / "demo"
    shutil.copytree(fixture.extract, folder / "extract")
    code, out = chi("demo", "--folder", str(folder), "--no-serve")
    assert code == 0, out
    assert latest_run_id(folder / "runs") is not None
    doc = tomllib.loads((folder / "chi.toml").read_text(encoding="utf-8"))
    assert doc["app"]["demo"] is True
    config = load_config(folder / "chi.toml")
    assert config.runs_dir == folder / "runs" and config.demo
    store = Store(config.state_path)
    assert store.demo_accounts() == ["admin", "analyst", "north", "sergeant", "south"]
    sergeant = store.account("sergeant")
    assert sergeant is not None and sergeant.role == "neighbourhood"
    assert len(sergeant.scope.split(",")) == 2
    assert store.check_password("sergeant", "demo").account is not None
    for name in ("sergeant", "north", "south", "analyst", "admin"):
        assert name in out
    assert "demonstration only" in out and "http://localhost:8501" in out
    run = latest_run_id(folder / "runs")
    code, out = chi("demo", "--folder", str(folder), "--no-serve")
    assert code == 0 and latest_run_id(folder / "runs") == run, "prepared once, reused after"
    assert len(store.accounts()) == 5


@pytest.mark.parametrize(
    "toml",
    [
        # A deployment's configuration (the tester's production folder).
        '[app]\nstate_path = "state.sqlite"\ndemo = false\n[passwords]\nbreached_corpus = "h"\n',
        # demo = true, but not written by chi demo (no marker line): still not rewritten.
        '[app]\nstate_path = "state.sqlite"\ndemo = true\n',
        # The marker copied into a production configuration does not make it a demo's.
        "# The demonstration's configuration, written by `chi demo`. Synthetic data only.\n"
        "[app]\ndemo = false\n",
        "not toml at all [",
    ],
)
def test_demo_never_rewrites_a_configuration_it_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str
) -> None:
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    folder = tmp_path / "production"
    folder.mkdir()
    (folder / "chi.toml").write_text(toml, encoding="utf-8")
    code, out = chi("demo", "--folder", str(folder), "--no-serve")
    assert code == 2, out
    assert "is not a configuration chi demo wrote" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1
    assert (folder / "chi.toml").read_text(encoding="utf-8") == toml
    assert sorted(p.name for p in folder.iterdir()) == ["chi.toml"], "nothing generated"


def test_demo_never_adds_demo_accounts_beside_real_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chi.state.passwords import PasswordPolicy

    monkeypatch.delenv("CHI_CONFIG", raising=False)
    from chi.cli.serving import DEMO_CONFIG_MARKER

    folder = tmp_path / "production"
    folder.mkdir()
    # A demo's folder (its own chi.toml) whose store someone gave a real account.
    toml = f'{DEMO_CONFIG_MARKER}\n[app]\nstate_path = "state.sqlite"\ndemo = true\n'
    (folder / "chi.toml").write_text(toml, encoding="utf-8")
    store = Store(folder / "state.sqlite", password_policy=PasswordPolicy())
    store.add_user("jsmith", "Quokka Velvet Tundra 77", "analyst")
    before = (folder / "state.sqlite").read_bytes()
    code, out = chi("demo", "--folder", str(folder), "--no-serve")
    assert code == 2, out
    assert "1 account(s) that are not demo accounts" in out
    assert len(out.strip().splitlines()) == 1
    assert [a.username for a in store.accounts()] == ["jsmith"]
    assert (folder / "state.sqlite").read_bytes() == before
    assert (folder / "chi.toml").read_text(encoding="utf-8") == toml
    assert not (folder / "extract").exists()


def test_demo_never_writes_into_a_store_with_no_demo_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tester's production folder signed in through OIDC: no local account at all, its
    store holding decisions and audit only, and its chi.toml set aside."""
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    folder = tmp_path / "production"
    folder.mkdir()
    store = Store(folder / "state.sqlite")
    store.record("oidc:amy", "list_view", rows=3)
    before = (folder / "state.sqlite").read_bytes()
    code, out = chi("demo", "--folder", str(folder), "--no-serve")
    assert code == 2, out
    assert "has no configuration chi demo wrote beside it" in out
    assert len(out.strip().splitlines()) == 1
    assert (folder / "state.sqlite").read_bytes() == before and store.accounts() == []
    assert sorted(p.name for p in folder.iterdir()) == ["state.sqlite"]
