"""Another force's geography: policing areas come from the geography file, not from chi.

A made-up force ("Westshire": areas West, East and Central, in that order in its file, six
neighbourhoods of two LSOAs each) supplies its own geography file through ``CHI_GEOGRAPHY``,
or through the ``[geography] path`` key of its ``chi.toml``.
A hand-made extract placed in it is scored, listed by area (the CLI's export and the
reading layer), its area leads are made and refused by its own area names, meeting decisions
take its areas, and the app offers and shows them. A geography file chi cannot use is
refused in one line naming the file, row and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_fixtures import FAST_HASHER_ARGS, AppEnv, Fixture, app_test, goto, write_config
from factory import GBH_S20, crime, person, victim, write_extract
from typer.testing import CliRunner

from chi.cli import app
from chi.meetings.decisions import Decision
from chi.reading.lists import area_scope, neighbourhoods, victim_list
from chi.reference import (
    GEOGRAPHY_ENV,
    GeographyError,
    geography,
    policing_areas,
    use_geography,
)
from chi.scoring.policy import Policy
from chi.scoring.runs import open_run, score_and_publish
from chi.state.auth import AuthError, make_user, scope_label

MONTH = "2024-12"

# neighbourhood code -> (name, district code, district name, area, its two LSOAs)
PLACES = {
    "X05000001": ("Harbour", "X07000001", "Westport", "West", ("E01000101", "E01000102")),
    "X05000002": ("Cliffs", "X07000001", "Westport", "West", ("E01000103", "E01000104")),
    "X05000003": ("Marshes", "X07000002", "Eastbury", "East", ("E01000105", "E01000106")),
    "X05000004": ("Fenside", "X07000002", "Eastbury", "East", ("E01000107", "E01000108")),
    "X05000005": ("Old Town", "X07000003", "Middleham", "Central", ("E01000109", "E01000110")),
    "X05000006": ("Castle Hill", "X07000003", "Middleham", "Central", ("E01000111", "E01000112")),
}
HEADER = [
    "lsoa_code",
    "lsoa_name",
    "neighbourhood_code",
    "neighbourhood_name",
    "district_code",
    "district_name",
    "area",
]


def geography_rows() -> list[list[str]]:
    return [
        [lsoa, f"{district} {i:03d}A", code, name, district_code, district, area]
        for code, (name, district_code, district, area, lsoas) in PLACES.items()
        for i, lsoa in enumerate(lsoas, start=1)
    ]


def write_geography(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@dataclass(frozen=True)
class Force:
    geography: Path
    extract: Path
    runs: Path
    run: Path
    homes: dict[str, str]
    """person_id -> neighbourhood code of their home."""


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Force]:
    """Westshire's geography file and a scored extract placed in it: in every neighbourhood
    one victim of a GBH (547.5 days: listed) and one of a single ABH (10 days: not)."""
    root = tmp_path_factory.mktemp("westshire")
    path = write_geography(root / "westshire_lsoa.csv", geography_rows())
    crimes, persons, victims = [], [], []
    homes: dict[str, str] = {}
    for n, (code, (*_, lsoas)) in enumerate(PLACES.items()):
        listed, unlisted = f"L{n}", f"U{n}"
        homes[listed] = code
        persons += [
            person(listed, home_lsoa_code=lsoas[0], name=f"Listed {n}"),
            person(unlisted, home_lsoa_code=lsoas[1], name=f"Unlisted {n}"),
        ]
        crimes += [
            crime(f"G{n}", "2024-06-10", offence_code=GBH_S20, lsoa_code=lsoas[0]),
            crime(f"A{n}", "2024-07-10", lsoa_code=lsoas[1]),
        ]
        victims += [victim(f"G{n}", listed), victim(f"A{n}", unlisted)]
    extract = write_extract(root / "extract", crimes, persons, victims)
    mp = pytest.MonkeyPatch()
    mp.setenv(GEOGRAPHY_ENV, str(path))
    try:
        run = score_and_publish(extract, root / "runs", Policy(), months=MONTH)
        yield Force(path, extract, root / "runs", run, homes)
    finally:
        mp.undo()


@pytest.fixture
def westshire(force: Force, monkeypatch: pytest.MonkeyPatch) -> Force:
    monkeypatch.setenv(GEOGRAPHY_ENV, str(force.geography))
    return force


def codes_of(area: str) -> set[str]:
    return {code for code, place in PLACES.items() if place[3] == area}


def test_the_areas_are_the_files_in_its_order(westshire: Force) -> None:
    assert policing_areas() == ("West", "East", "Central")
    geo = geography()
    assert geo.path == westshire.geography.resolve()
    assert set(geo.in_area("East")) == {"X05000003", "X05000004"}
    assert geo.find_area("central") == "Central"
    assert geo.find_area("North") is None
    assert geo.lsoa_neighbourhood["E01000112"] == "X05000006"
    nb = neighbourhoods()
    assert nb.columns == [
        "neighbourhood_code",
        "neighbourhood_name",
        "district_code",
        "district_name",
        "area",
    ]
    assert nb.height == 6
    assert dict(zip(nb["neighbourhood_code"], nb["area"], strict=True)) == {
        code: place[3] for code, place in PLACES.items()
    }


def test_without_the_variable_the_shipped_geography_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(GEOGRAPHY_ENV, raising=False)
    assert policing_areas() == ("North", "South")
    assert len(geography().neighbourhoods) == 120


def test_the_run_lists_each_areas_victims_by_their_neighbourhood(westshire: Force) -> None:
    run = open_run(westshire.run)
    for area in ("West", "East", "Central"):
        frame = victim_list(run, MONTH, area_scope(area))
        assert set(frame["person_id"]) == {
            pid for pid, code in westshire.homes.items() if code in codes_of(area)
        }
        assert set(frame["neighbourhood_code"]) == codes_of(area)
        names = {PLACES[code][0] for code in codes_of(area)}
        assert set(frame["neighbourhood_name"]) == names
    assert area_scope("east").label == "East area"
    with pytest.raises(ValueError, match=r"unknown policing area 'North' .*West, East, Central"):
        area_scope("North")


def test_chi_export_lists_an_area_by_its_own_name(westshire: Force) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["export", str(westshire.run), "--month", MONTH, "--area", "Central", "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert sorted((r["Person id"], r["Neighbourhood"]) for r in rows) == [
        ("L4", "Old Town"),
        ("L5", "Castle Hill"),
    ]
    refused = runner.invoke(
        app, ["export", str(westshire.run), "--month", MONTH, "--area", "North", "--format", "csv"]
    )
    assert refused.exit_code == 2
    assert "West, East, Central" in refused.output
    assert "Traceback" not in refused.output


def test_area_leads_are_made_by_the_forces_own_area_names(westshire: Force) -> None:
    lead = make_user("lead", "area", "east")
    assert lead.area == "East"
    assert lead.scope.neighbourhoods == frozenset(codes_of("East"))
    assert lead.scope.label == "East area"
    assert scope_label("Central") == "Central area"
    assert scope_label(",".join(sorted(codes_of("West")))) == "West area"
    for wrong in ("North", "West,East", ""):
        with pytest.raises(AuthError, match="one area: West or East or Central"):
            make_user("lead", "area", wrong)


def test_meeting_decisions_take_the_forces_areas(westshire: Force) -> None:
    def problems(area: str) -> list[str]:
        return Decision(
            "victim",
            "L2",
            MONTH,
            area,
            date(2025, 1, 5),
            "engagement",
            engagement_start=date(2025, 1, 6),
            engagement_end=date(2025, 3, 31),
            owner="PC Lane",
        ).problems()

    assert problems("East") == []
    assert problems("North") == ["area must be one of West, East, Central"]


def test_the_app_offers_and_shows_the_forces_areas(
    westshire: Force, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    from chi.state.store import Store

    fixture = Fixture(westshire.extract, westshire.runs, westshire.run.name, [MONTH])
    config = write_config(tmp_path, fixture)
    store = Store(tmp_path / "state.sqlite", hasher=PasswordHasher(**FAST_HASHER_ARGS))
    store.add_user("analyst", "correct horse battery", "analyst", "")
    store.add_user("lead", "correct horse battery", "area", "Central")
    monkeypatch.setenv("CHI_CONFIG", str(config))
    env = AppEnv(tmp_path, config, fixture)

    at = goto(app_test(env, "analyst"), "meeting")
    assert not at.exception, [e.value for e in at.exception]
    area = at.sidebar.selectbox(key="meeting_area")
    assert list(area.options) == ["West", "East", "Central"]
    area.select("East").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Victim meeting: East area")

    at = goto(app_test(env, "lead"), "victims")
    assert not at.exception, [e.value for e in at.exception]
    shown = _texts(at)
    assert "Central area" in shown
    assert "Listed 4" in shown and "Listed 5" in shown
    assert "Listed 0" not in shown


def _texts(at: Any) -> str:
    parts = [
        e.value for kind in ("title", "caption", "markdown", "subheader") for e in at.get(kind)
    ]
    parts += [str(frame.value.to_dict("records")) for frame in at.dataframe]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows, "no column 'area'"),
        (
            lambda rows: [*rows[:3], [*rows[3][:6], ""], *rows[4:]],
            "row 5: column 'area' is empty",
        ),
        (
            lambda rows: [*rows[:1], [*rows[1][:6], "East"], *rows[2:]],
            "row 3: column 'area': neighbourhood X05000001 is in another one",
        ),
        (lambda rows: [*rows, rows[0]], "row 14: column 'lsoa_code' repeats"),
        (lambda rows: [], "has no rows"),
    ],
)
def test_a_geography_chi_cannot_use_is_refused_in_one_line(
    edit: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = HEADER[:-1] if message.startswith("no column") else HEADER
    path = write_geography(tmp_path / "bad.csv", edit(geography_rows()), header)
    monkeypatch.setenv(GEOGRAPHY_ENV, str(path))
    with pytest.raises(GeographyError) as caught:
        geography()
    text = str(caught.value)
    assert text.startswith(str(path.resolve()))
    assert message in text
    assert "\n" not in text


def test_chi_score_refuses_a_broken_geography_in_one_line(
    force: Force, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = geography_rows()
    rows[2][6] = ""
    monkeypatch.setenv(GEOGRAPHY_ENV, str(write_geography(tmp_path / "bad.csv", rows)))
    result = CliRunner().invoke(app, ["score", str(force.extract), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "bad.csv, row 4: column 'area' is empty" in line


def _bytes_of(rows: list[list[str]]) -> bytes:
    return "".join(",".join(r) + "\r\n" for r in [list(HEADER), *rows]).encode()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        # Excel's "CSV" on Windows: Latin-1 / cp1252 text
        (lambda b: b.replace(b",West", ",W\xe9st".encode("latin-1"), 1), "not UTF-8"),
        # one row with a field more than the header
        (
            lambda b: b"\r\n".join(
                ln + b",extra" if i == 2 else ln for i, ln in enumerate(b.split(b"\r\n"))
            ),
            "row 3: more fields than",
        ),
        # stray carriage returns: Python's csv reader takes them, DuckDB's does not
        (lambda b: b.replace(b"\r\n", b"\r\r\n"), "not well-formed CSV"),
    ],
)
def test_a_damaged_geography_file_is_named_in_one_line(
    damage: Any, message: str, force: Force, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "damaged.csv"
    path.write_bytes(damage(_bytes_of(geography_rows())))
    monkeypatch.setenv(GEOGRAPHY_ENV, str(path))
    result = CliRunner().invoke(app, ["score", str(force.extract), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "damaged.csv" in line and message in line, line
    assert "extract" not in line  # the geography is at fault, not the extract


def test_the_run_records_its_geography_and_a_rerun_refuses_another(
    force: Force, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    recorded = open_run(force.run).manifest.geography
    assert recorded == {
        "file": "westshire_lsoa.csv",
        "path": str(force.geography.resolve()),
        "shipped": False,
        "sha256": hashlib.sha256(force.geography.read_bytes()).hexdigest(),
        "areas": ["West", "East", "Central"],
    }
    # The same file elsewhere: the rerun reproduces the run.
    same = tmp_path / "same.csv"
    same.write_bytes(force.geography.read_bytes())
    monkeypatch.setenv(GEOGRAPHY_ENV, str(same))
    runner = CliRunner()
    result = runner.invoke(app, ["rerun", str(force.run)])
    assert result.exit_code == 0, result.output
    # Old Town moved to East: the lists would differ, so the rerun refuses and says why.
    rows = geography_rows()
    rows[8][6] = rows[9][6] = "East"
    monkeypatch.setenv(GEOGRAPHY_ENV, str(write_geography(tmp_path / "moved.csv", rows)))
    refused = runner.invoke(app, ["rerun", str(force.run)])
    assert refused.exit_code == 2
    output = " ".join(refused.output.split())
    assert "the geography file (westshire_lsoa.csv) is not the one the run used" in output
    # Only the geography changed: the message must not blame the extract.
    assert "inputs changed" in output and "extract changed" not in output


def test_chi_demo_refuses_another_forces_geography(westshire: Force, tmp_path: Path) -> None:
    """The demo's synthetic extract is placed in Cambridgeshire: with another geography its
    people would have no neighbourhood, so it says so before any work."""
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--folder", str(tmp_path / "d")])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert f"unset {GEOGRAPHY_ENV}" in line
    assert not (tmp_path / "d").exists()


def test_the_chi_toml_key_names_the_geography_for_scoring_and_the_app(
    force: Force, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No environment variable: ``[geography] path`` (relative to chi.toml, not to the
    folder a command runs in) places the extract for ``chi score``, is recorded in the run,
    gives ``chi export --area`` and the app their areas, and ``chi rerun`` with no
    configuration at all scores with the file the run recorded."""
    from argon2 import PasswordHasher

    from chi.settings import load_config
    from chi.state.store import Store

    monkeypatch.delenv(GEOGRAPHY_ENV, raising=False)
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    conf = tmp_path / "conf"
    conf.mkdir()
    places = conf / "places.csv"
    places.write_bytes(force.geography.read_bytes())
    config = conf / "chi.toml"
    config.write_text(
        '[app]\nruns_dir = "runs"\nstate_path = "state.sqlite"\n'
        f"extract_dir = {str(force.extract)!r}\n"
        '[geography]\npath = "places.csv"\n'
        "[policy]\nmin_harm = 365\n",
        encoding="utf-8",
    )
    assert load_config(config).geography == places.resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    runner = CliRunner()
    runs = conf / "runs"
    scored = runner.invoke(
        app,
        [
            "score",
            str(force.extract),
            "--out",
            str(runs),
            "--months",
            MONTH,
            "--config",
            str(config),
        ],
    )
    assert scored.exit_code == 0, scored.output
    run = open_run(Path(scored.stdout.strip().splitlines()[-1]))
    assert run.manifest.geography is not None
    assert run.manifest.geography["file"] == "places.csv"
    assert run.manifest.geography["path"] == str(places.resolve())
    assert run.manifest.geography["areas"] == ["West", "East", "Central"]
    assert set(pl.read_parquet(run.file("victim_list"))["person_id"]) == set(force.homes)

    use_geography(None)
    exported = runner.invoke(
        app,
        [
            *("export", str(run.path), "--month", MONTH, "--area", "east"),
            *("--format", "csv", "--config", str(config)),
        ],
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    assert sorted((r["Person id"], r["Neighbourhood"]) for r in rows) == [
        ("L2", "Marshes"),
        ("L3", "Fenside"),
    ]

    # The app: the areas of the key's file, with nothing else naming it.
    use_geography(None)
    store = Store(conf / "state.sqlite", hasher=PasswordHasher(**FAST_HASHER_ARGS))
    store.add_user("analyst", "correct horse battery", "analyst", "")
    store.add_user("lead", "correct horse battery", "area", "Central")
    monkeypatch.setenv("CHI_CONFIG", str(config))
    fixture = Fixture(force.extract, runs, run.run_id, [MONTH])
    env = AppEnv(conf, config, fixture)
    at = goto(app_test(env, "analyst"), "meeting")
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.sidebar.selectbox(key="meeting_area").options) == ["West", "East", "Central"]
    at = goto(app_test(env, "lead"), "victims")
    assert not at.exception, [e.value for e in at.exception]
    shown = _texts(at)
    assert "Central area" in shown
    assert "Listed 4" in shown and "Listed 5" in shown
    assert "Listed 0" not in shown

    # A rerun from a folder with no configuration: the run's own geography, not the shipped.
    monkeypatch.delenv("CHI_CONFIG")
    use_geography(None)
    rerun = runner.invoke(app, ["rerun", str(run.path)])
    assert rerun.exit_code == 0, rerun.output
    again = open_run(Path(rerun.stdout.strip().splitlines()[-1]))
    assert again.manifest.geography == run.manifest.geography
    assert again.file("victim_list").read_bytes() == run.file("victim_list").read_bytes()
