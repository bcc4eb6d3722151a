"""The core runs without chi's extras (pyproject.toml: report, model, app).

Each command runs in a fresh Python process in which every library of the extras
(``chi.errors.EXTRA_OF``: Streamlit, Altair, fpdf2, scikit-learn, SciPy...) cannot be imported,
as on a machine where only ``pip install chi`` was run: generating, validating, scoring,
exporting CSV and XLSX and adding an account work; a command that needs an extra says which,
in one line, with exit code 2.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from chi.errors import EXTRA_OF

WITHOUT_EXTRAS = """
import importlib.abc, sys

HIDDEN = set(sys.argv[1].split(","))


class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Hidden())
sys.argv = ["chi", *sys.argv[2:]]
from chi.cli import app

app()
"""


def chi(folder: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    script = folder / "without_extras.py"
    if not script.exists():
        script.write_text(WITHOUT_EXTRAS, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), ",".join(EXTRA_OF), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8"},
    )


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("core")
    made = chi(
        folder,
        "generate",
        "ex",
        "--seed",
        "3",
        "--start",
        "2024-01",
        "--months",
        "13",
        "--scale",
        "0.02",
    )
    assert made.returncode == 0, made.stderr
    checked = chi(folder, "validate", "ex")
    assert checked.returncode == 0, checked.stderr
    assert "rejected" in checked.stdout
    done = chi(folder, "score", "ex", "--out", "runs", "--months", "2024-12")
    assert done.returncode == 0, done.stderr
    run = folder / done.stdout.strip().splitlines()[-1]
    assert (run / "victim_list.parquet").is_file()
    return folder, run


def test_the_hidden_libraries_really_are_hidden(tmp_path: Path) -> None:
    """The harness itself: a command needing an extra's library cannot find it."""
    result = chi(tmp_path, "model", "--help")
    assert result.returncode == 0, result.stderr  # help needs no library
    probe = tmp_path / "probe.py"
    probe.write_text(WITHOUT_EXTRAS.split("sys.argv = ")[0] + "import fpdf\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(probe), ",".join(EXTRA_OF)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "No module named 'fpdf'" in done.stderr


def test_generate_validate_score_and_export_csv_and_xlsx_need_no_extra(
    scored: tuple[Path, Path],
) -> None:
    folder, run = scored
    listed = chi(folder, "export", str(run), "--month", "2024-12", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    rows = list(csv.DictReader(io.StringIO(listed.stdout.lstrip("\ufeff"))))
    assert rows and rows[0]["Rank"] == "1"
    book = chi(
        folder, "export", str(run), "--month", "2024-12", "--format", "xlsx", "--out", "l.xlsx"
    )
    assert book.returncode == 0, book.stderr
    assert (folder / "l.xlsx").stat().st_size > 0


def test_accounts_need_no_extra(scored: tuple[Path, Path]) -> None:
    folder, _run = scored
    (folder / "chi.toml").write_text(
        # a demo configuration: production also needs a breached-password mirror, which is
        # tested in test_password_policy.py; here only the extras matter
        '[app]\nstate_path = "state.sqlite"\ndemo = true\n',
        encoding="utf-8",
    )
    added = chi(
        folder,
        "users",
        "add",
        "ana",
        "--role",
        "analyst",
        "--password-stdin",
        "--config",
        "chi.toml",
        stdin="a long enough pass phrase for the test\n",
    )
    assert added.returncode == 0, added.stderr


@pytest.mark.parametrize(
    ("args", "libraries", "extra"),
    [
        (
            ["export", "RUN", "--month", "2024-12", "--format", "pdf", "--out", "l.pdf"],
            {"fpdf2"},
            "report",
        ),
        # whichever of the model extra's libraries the backtest imports first (threadpoolctl
        # with the model module, joblib and scikit-learn where a model is fitted or loaded:
        # which comes first depends on what else is installed)
        (["backtest", "RUN"], {"threadpoolctl", "joblib", "scikit-learn"}, "model"),
    ],
)
def test_a_command_that_needs_an_extra_says_which_in_one_line(
    scored: tuple[Path, Path], args: list[str], libraries: set[str], extra: str
) -> None:
    folder, run = scored
    result = chi(folder, *[str(run) if a == "RUN" else a for a in args])
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    named = line.removeprefix("chi: this needs ").split(",")[0]
    assert named in libraries, line
    assert line == (
        f"chi: this needs {named}, which comes with chi's {extra!r} extra: "
        f"pip install 'chi[{extra}]' (or 'chi[app]' for everything)"
    )


def test_chi_demo_needs_the_app_extra_and_says_so_before_any_work(tmp_path: Path) -> None:
    result = chi(tmp_path, "demo", "--no-serve", "--folder", "demo")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "pip install 'chi[app]'" in line
    assert not (tmp_path / "demo").exists()
