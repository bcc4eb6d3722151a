"""chi installed from its wheel, not from the checkout: ``pip install`` of the built wheel into
a fresh virtual environment, then ``chi demo`` in an empty folder serves the app.

The wheel is built without network (``--no-build-isolation``: hatchling is in the dev extra)
and installed with ``--no-deps``; the new environment sees the test environment's libraries
through a ``.pth`` line naming their folder (a plain path: the ``.pth`` files there, among them
the editable install of this checkout, are not run), so chi itself can only come from the
wheel. Everything runs from an empty temporary folder, so nothing can be read from the
checkout by a relative path either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_fixtures import shared_fixture
from test_browser import _free_port, serving

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site: Path
    work: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def chi(self) -> Path:
        return self.venv / "bin" / "chi"


def _env() -> dict[str, str]:
    """The environment of a user's shell: no configuration, no path into the checkout."""
    drop = {"CHI_CONFIG", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(args: list[str | Path], cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT], cwd=base)
    [wheel] = sorted(dist.glob("chi-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The test environment's libraries, as a plain path (its .pth files are not processed).
    (site / "test-env-libraries.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    install: list[str | Path] = [
        *pip,
        "--python",
        venv / "bin" / "python",
        "install",
        "--no-deps",
        "--no-index",
    ]
    _run([*install, wheel], cwd=base)
    work = base / "empty"
    work.mkdir()
    return Installed(wheel, venv, site, work)


def test_the_wheel_holds_the_app_its_settings_the_sql_and_the_reference_data(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in (
        "chi/app/serve.py",
        "chi/app/server.py",
        "chi/app/script/chi_app.py",
        "chi/app/script/.streamlit/config.toml",
        "chi/_sql/lists/victim_list.sql",
        "chi/_data/geography/lsoa.csv",
        "chi/_data/weights/registry.json",
    ):
        assert name in names, name
    assert not [n for n in names if n.startswith(("tests/", "app.py", "serve.py"))]


def test_the_installed_chi_reads_only_its_own_files(installed: Installed) -> None:
    probe = (
        "import json, chi, chi.reference as r, chi.app.server as s\n"
        "print(json.dumps([chi.__file__, str(r.data_dir()), str(r.sql_dir()),"
        " str(s.APP_SCRIPT), s.APP_SCRIPT.is_file()]))"
    )
    module, data, sql, script, exists = json.loads(
        _run([installed.python, "-c", probe], cwd=installed.work)
    )
    for path in (module, data, sql, script):
        assert Path(path).is_relative_to(installed.site), path
        assert not Path(path).is_relative_to(ROOT / "chi"), path
    assert Path(data) == installed.site / "chi" / "_data"
    assert Path(sql) == installed.site / "chi" / "_sql"
    assert exists


@pytest.fixture(scope="module")
def demo(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The installed ``chi demo`` serving from an empty folder (the fixture extract copied in,
    so nothing is generated)."""
    fixture = shared_fixture(tmp_path_factory)
    folder = installed.work / "demo"
    shutil.copytree(fixture.extract, folder / "extract")
    port = _free_port()
    with serving(
        [str(installed.chi), "demo", "--folder", "demo", "--port", str(port)],
        installed.work.parent / "demo.log",
        port,
        env=_env(),
        cwd=installed.work,
    ) as url:
        yield url


def test_chi_demo_from_the_wheel_serves_the_app(installed: Installed, demo: str) -> None:
    with urllib.request.urlopen(f"{demo}/_stcore/health", timeout=10) as r:
        assert r.status == 200
        assert r.read() == b"ok"
    # The hardened server (chi.app.serve): its own sign-in page and security headers.
    with urllib.request.urlopen(f"{demo}/_chi/signin", timeout=10) as r:
        page = r.read().decode("utf-8")
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
    assert "<h1>chi: victim harm lists</h1>" in page and "name=password" in page
    log = (installed.work.parent / "demo.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log
    assert (installed.work / "demo" / "chi.toml").is_file()
    assert sorted(p.name for p in installed.work.iterdir()) == ["demo"]


def test_the_installed_script_runs_the_app(installed: Installed, demo: str) -> None:
    """The script inside the installed package renders the sign-in page of the demo."""
    probe = (
        "import json\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from chi.app.server import APP_SCRIPT\n"
        "at = AppTest.from_file(str(APP_SCRIPT), default_timeout=60).run()\n"
        "print(json.dumps([[t.value for t in at.title], [e.value for e in at.exception]]))"
    )
    env = {**_env(), "CHI_CONFIG": str(installed.work / "demo" / "chi.toml")}
    done = subprocess.run(
        [str(installed.python), "-c", probe],
        cwd=installed.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    titles, exceptions = json.loads(done.stdout.strip().splitlines()[-1])
    assert exceptions == []
    assert titles == ["chi: victim harm lists"]


def test_the_served_app_takes_its_streamlit_settings_from_the_package(
    installed: Installed, demo: str
) -> None:
    """Streamlit's settings (no table export, no error details, XSRF protection) come from the
    ``.streamlit/config.toml`` beside the installed script, whatever folder serves it, and
    win over a folder's own ``.streamlit/config.toml``."""
    own = installed.work.parent / "elsewhere" / ".streamlit"
    own.mkdir(parents=True)
    (own / "config.toml").write_text(
        '[client]\nshowErrorDetails = "full"\ndisableDataExport = false\n', encoding="utf-8"
    )
    probe = (
        "import json\n"
        "from streamlit import config\n"
        "import chi.app.serve\n"
        "config.get_config_options(force_reparse=True)\n"
        "names = ['client.showErrorDetails', 'client.disableDataExport',"
        " 'server.enableXsrfProtection', 'browser.gatherUsageStats']\n"
        "print(json.dumps([config.get_option(n) for n in names]))"
    )
    env = {**_env(), "CHI_CONFIG": str(installed.work / "demo" / "chi.toml")}
    done = subprocess.run(
        [str(installed.python), "-c", probe],
        cwd=own.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["none", True, True, False]


def test_the_installed_chi_generates_and_scores_from_its_own_reference_data(
    installed: Installed,
) -> None:
    """The generator's calibration data, the weights, the geography and the SQL all come from
    the installed package: a small extract is generated and scored in an empty folder."""
    work = installed.work.parent / "scoring"
    work.mkdir()
    made: list[str | Path] = [installed.chi, "generate", "ex", "--seed", "2", "--start", "2024-01"]
    _run([*made, "--months", "13", "--scale", "0.01"], cwd=work)
    out = _run([installed.chi, "score", "ex", "--out", "runs", "--months", "2024-12"], cwd=work)
    run = work / out.strip().splitlines()[-1]
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["geography"]["shipped"] is True
    assert manifest["geography"]["areas"] == ["North", "South"]
    assert (run / "victim_list.parquet").is_file()
