"""The synthetic extract generator: deterministic, contract-shaped, clean when asked, and
dirty exactly as its truth file says."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from chi.contract import TABLES, arrow_schema
from chi.generate import GenerateOptions, generate_extract
from chi.generate.build import _crime_ids, _labels, _person_ids
from chi.generate.crimes import Crimes
from chi.generate.defects import KIND_SHARES, planned_counts
from chi.generate.sources import load_sources

SMALL = GenerateOptions(seed=3, start="2023-11", months=3, scale=0.2)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _table(folder: Path, name: str) -> pl.DataFrame:
    """A table as written, every file read separately (text columns stay text)."""
    single = folder / f"{name}.parquet"
    paths = [single] if single.exists() else sorted((folder / name).rglob("*.parquet"))
    frames = [pl.read_parquet(p) for p in paths]
    if name == "crimes":
        frames = [f.with_columns(pl.col("recorded_date").cast(pl.String)) for f in frames]
        frames = [f.with_columns(pl.col("domestic_abuse").cast(pl.String)) for f in frames]
    return pl.concat(frames)


@pytest.fixture(scope="module")
def small_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    a = tmp_path_factory.mktemp("first") / "x"
    b = tmp_path_factory.mktemp("second") / "x"
    assert generate_extract(a, SMALL) == generate_extract(b, SMALL)
    return a, b


def test_same_seed_gives_identical_bytes(small_twice: tuple[Path, Path]) -> None:
    a, b = small_twice
    digests = _digests(a)
    assert digests == _digests(b)
    assert "crimes/year=2023/part-0.parquet" in digests
    assert "crimes/year=2024/part-0.parquet" in digests
    assert "victims/year=2024/part-0.parquet" in digests


def test_different_seeds_differ(small_twice: tuple[Path, Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_extract(other, GenerateOptions(seed=4, start="2023-11", months=3, scale=0.2))
    a = _digests(small_twice[0])
    b = _digests(other)
    assert a.keys() == b.keys()
    for name in ("crimes/year=2024/part-0.parquet", "persons.parquet", "suspects.parquet"):
        assert a[name] != b[name], name


def test_layout_and_extract_json(small_twice: tuple[Path, Path]) -> None:
    folder = small_twice[0]
    meta = json.loads((folder / "extract.json").read_text())
    assert meta == {"force": "Cambridgeshire", "as_of": "2024-01-31"}
    assert sorted(p.name for p in (folder / "crimes").iterdir()) == ["year=2023", "year=2024"]
    for name in ("persons.parquet", "suspects.parquet", "truth/defects.parquet"):
        assert (folder / name).is_file()
    options = json.loads((folder / "truth" / "generator.json").read_text())
    assert options["seed"] == 3 and options["scale"] == 0.2


def test_regenerating_replaces_the_previous_extract_only(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    generate_extract(folder, SMALL)
    (folder / "notes.txt").write_text("mine")
    (folder / "crimes" / "year=2020").mkdir()
    (folder / "crimes" / "year=2020" / "stale.parquet").write_bytes(b"old")
    generate_extract(folder, GenerateOptions(seed=3, start="2024-01", months=1, scale=0.2))
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (folder / "crimes").iterdir()) == ["year=2024"]


@pytest.mark.parametrize(
    "options",
    [
        GenerateOptions(start="2024-13"),
        GenerateOptions(start="24-01"),
        GenerateOptions(months=0),
        GenerateOptions(scale=0),
        GenerateOptions(defect_rate=0.5),
    ],
)
def test_bad_options_are_refused(options: GenerateOptions, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_extract(tmp_path / "x", options)
    assert not (tmp_path / "x").exists()


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("not a folder")
    with pytest.raises(ValueError, match="not a folder"):
        generate_extract(tmp_path / "x", SMALL)


def test_planned_counts_share_the_rate_among_every_kind() -> None:
    plan = planned_counts(0.01, 100_000)
    assert plan["missing_lsoa"] == 140
    assert plan["wrong_type"] == 70
    assert sum(plan.values()) == 1_000
    assert set(planned_counts(0.0, 100_000).values()) == {0}
    assert set(planned_counts(0.0001, 100).values()) == {1}


# --- the clean extract: the contract, exactly ---------------------------------------------


def test_clean_schema_is_the_contract(clean_extract: Path) -> None:
    for name, table in TABLES.items():
        single = clean_extract / f"{name}.parquet"
        paths = [single] if single.exists() else sorted((clean_extract / name).rglob("*.parquet"))
        assert paths, name
        for p in paths:
            assert pq.read_schema(p).equals(arrow_schema(table)), p


def test_clean_extract_keys_references_and_dates(clean_extract: Path) -> None:
    crimes = pl.read_parquet(clean_extract / "crimes" / "**" / "*.parquet")
    persons = pl.read_parquet(clean_extract / "persons.parquet")
    victims = pl.read_parquet(clean_extract / "victims" / "**" / "*.parquet")
    suspects = pl.read_parquet(clean_extract / "suspects.parquet")
    as_of = dt.date(2024, 12, 31)

    assert crimes["crime_id"].is_unique().all()
    assert persons["person_id"].is_unique().all()
    assert not victims.select("crime_id", "person_id").is_duplicated().any()
    assert not suspects.select("crime_id", "person_id").is_duplicated().any()
    for rows in (victims, suspects):
        assert rows["crime_id"].is_in(crimes["crime_id"].implode()).all()
        assert rows["person_id"].is_in(persons["person_id"].implode()).all()

    assert crimes["recorded_date"].min() == dt.date(2024, 1, 1)
    assert crimes["recorded_date"].max() == as_of
    assert (crimes["occurred_date"] <= crimes["recorded_date"]).all()
    assert (crimes["outcome_date"] >= crimes["recorded_date"]).all()
    assert (crimes["outcome_date"] <= as_of).all()
    assert crimes["outcome_code"].is_between(1, 22).all()
    assert (crimes["outcome_code"].is_null() == crimes["outcome_date"].is_null()).all()
    assert (crimes["offence_code"].is_not_null() | crimes["ho_class"].is_not_null()).all()
    assert (crimes["da_relationship"].is_not_null() == crimes["domestic_abuse"]).all()
    assert crimes["crime_id"].str.contains(r"^37/\d{6}/24$").all()
    assert persons["person_id"].str.contains(r"^P\d{8}$").all()
    assert (persons["birth_date"] <= as_of).all()
    assert (persons["deceased_date"] <= as_of).all()

    truth = pq.read_table(clean_extract / "truth" / "defects.parquet")
    assert truth.num_rows == 0
    assert truth.column_names == ["table", "key", "kind"]


def test_clean_extract_people_fit_their_crimes(clean_extract: Path) -> None:
    crimes = pl.read_parquet(clean_extract / "crimes" / "**" / "*.parquet")
    persons = pl.read_parquet(clean_extract / "persons.parquet")
    victims = pl.read_parquet(clean_extract / "victims" / "**" / "*.parquet")
    src = load_sources()
    titles = pl.DataFrame(
        {"offence_code": list(src.weights), "title": [w.title for w in src.weights.values()]}
    )
    v = (
        victims.join(crimes, on="crime_id")
        .join(persons, on="person_id")
        .join(titles, on="offence_code", how="left")
    )
    title = pl.col("title").str.to_lowercase()
    occurred = pl.coalesce("occurred_date", "recorded_date")
    age = (occurred - pl.col("birth_date")).dt.total_days() / 365.25

    female_only = v.filter(title.str.contains(r"\bfemale\b"))
    assert female_only.height > 0
    assert (female_only["sex"] == "F").all()
    under_13 = v.filter(title.str.contains("under 13"))
    assert under_13.height > 0
    assert under_13.select(age < 13).to_series().all()

    organisations = v.filter(pl.col("person_type") == "organisation")
    assert (
        organisations.select("sex", "birth_date", "ethnicity").null_count().row(0)
        == (organisations.height,) * 3
    )
    # A DASH grade only on DA victimisations, and not on every one (the form is not always
    # completed: 20% are left without one).
    assert (
        v.filter(~pl.col("domestic_abuse"))["dash_risk"].null_count()
        == v.filter(~pl.col("domestic_abuse")).height
    )
    da = v.filter(pl.col("domestic_abuse"))
    assert 0.15 <= da["dash_risk"].null_count() / da.height <= 0.25
    assert da["dash_risk"].drop_nulls().value_counts().sort("count")["dash_risk"].to_list() == [
        "high",
        "medium",
        "standard",
    ]

    dead = persons.filter(pl.col("deceased_date").is_not_null())
    assert dead.height > 0
    killed = v.filter(pl.col("deceased_date").is_not_null())
    assert (killed["deceased_date"] >= killed["occurred_date"].fill_null(dt.date(1900, 1, 1))).all()
    assert (killed["recorded_date"] >= killed["deceased_date"]).all()


def test_charged_suspects_match_outcome_one(clean_extract: Path) -> None:
    crimes = pl.read_parquet(clean_extract / "crimes" / "**" / "*.parquet")
    suspects = pl.read_parquet(clean_extract / "suspects.parquet")
    charged = suspects.filter(pl.col("role") == "charged")["crime_id"].unique()
    outcome_one = crimes.filter(pl.col("outcome_code") == 1)["crime_id"]
    assert set(charged.to_list()) == set(outcome_one.to_list())


# --- the dirty extract: every defect as its truth file says --------------------------------


@pytest.fixture(scope="module")
def truth(generated_extract: Path) -> pl.DataFrame:
    return pl.read_parquet(generated_extract / "truth" / "defects.parquet")


def test_every_kind_at_the_default_rate(generated_extract: Path, truth: pl.DataFrame) -> None:
    kinds = Counter(truth["kind"].to_list())
    assert set(kinds) == set(KIND_SHARES)
    rows = sum(_table(generated_extract, t).height for t in TABLES)
    assert 0.008 * rows <= truth.height <= 0.012 * rows
    assert not truth.select("table", "key").is_duplicated().any()


def test_truth_rows_have_their_defect(generated_extract: Path, truth: pl.DataFrame) -> None:
    crimes = _table(generated_extract, "crimes")
    persons = _table(generated_extract, "persons")
    victims = _table(generated_extract, "victims")
    suspects = _table(generated_extract, "suspects")
    src = load_sources()
    groups = {w.group for w in src.weights.values()}
    in_force = set(src.lsoas)
    as_of = "2024-12-31"

    def rows(kind: str) -> pl.DataFrame:
        keys = truth.filter(pl.col("kind") == kind)["key"]
        assert keys.len() > 0, kind
        return crimes.filter(pl.col("crime_id").is_in(keys.implode()))

    for r in rows("unknown_offence_code").iter_rows(named=True):
        assert r["offence_code"] not in src.weights
        assert r["offence_code"].split(".")[0] not in groups
        assert r["ho_class"] is None
    assert rows("missing_lsoa")["lsoa_code"].is_null().all()
    outside = rows("out_of_force_lsoa")["lsoa_code"]
    assert outside.is_not_null().all() and not outside.is_in(list(in_force)).any()
    late = rows("occurred_after_recorded")
    assert (late["occurred_date"].cast(pl.String) > late["recorded_date"]).all()
    after = rows("date_after_as_of")
    assert (
        (after["recorded_date"] > as_of)
        | (after["outcome_date"].cast(pl.String) > as_of).fill_null(False)
    ).all()
    copies = crimes.filter(
        pl.col("crime_id").is_in(
            truth.filter((pl.col("kind") == "duplicate_key") & (pl.col("table") == "crimes"))[
                "key"
            ].implode()
        )
    )
    assert copies["crime_id"].value_counts()["count"].min() == 2
    person_keys = truth.filter(pl.col("table") == "persons")
    assert set(person_keys["kind"]) == {"duplicate_key"}
    assert (
        persons.filter(pl.col("person_id").is_in(person_keys["key"].implode()))["person_id"]
        .value_counts()["count"]
        .min()
        == 2
    )

    ghosts = truth.filter(pl.col("kind") == "victim_missing_person")
    assert set(ghosts["table"]) == {"victims"}
    victim_keys = victims.select(pl.concat_str("crime_id", "person_id", separator="|"))
    assert ghosts["key"].is_in(victim_keys.to_series().implode()).all()
    ghost_people = ghosts["key"].str.split("|").list.get(1)
    assert not ghost_people.is_in(persons["person_id"].implode()).any()

    # Rejected crimes carry nobody with them: no victims or suspects point at them.
    rejected = truth.filter(
        pl.col("kind").is_in(["occurred_after_recorded", "date_after_as_of", "wrong_type"])
    )["key"]
    assert not rejected.is_in(victims["crime_id"].implode()).any()
    assert not rejected.is_in(suspects["crime_id"].implode()).any()


def test_wrong_type_rows_are_unparseable_in_their_file(
    generated_extract: Path, truth: pl.DataFrame
) -> None:
    keys = set(truth.filter(pl.col("kind") == "wrong_type")["key"].to_list())
    text_files = []
    for path in sorted((generated_extract / "crimes").rglob("*.parquet")):
        schema = pq.read_schema(path)
        text_columns = [
            f.name
            for f in schema
            if str(f.type) == "string"
            and arrow_schema(TABLES["crimes"]).field(f.name).type != f.type
        ]
        if not text_columns:
            assert not keys & set(pl.read_parquet(path)["crime_id"].to_list())
            continue
        text_files.append(path)
        [column] = text_columns
        frame = pl.read_parquet(path)
        bad = frame.filter(pl.col("crime_id").is_in(list(keys)))
        good = frame.filter(~pl.col("crime_id").is_in(list(keys)))
        assert bad.height == len(keys)
        if column == "recorded_date":
            parsed = pl.col(column).str.to_date("%Y-%m-%d", strict=False)
            assert bad.select(parsed.is_null()).to_series().all()
            assert good.select(parsed.is_not_null()).to_series().all()
        else:
            assert not bad[column].is_in(["true", "false"]).any()
            assert good[column].is_in(["true", "false"]).all()
    assert len(text_files) == 1


def test_duplicate_recordings_repeat_victim_suspect_and_offence(generated_extract: Path) -> None:
    pairs = pl.read_parquet(generated_extract / "truth" / "duplicates.parquet")
    assert pairs.height > 0
    crimes = _table(generated_extract, "crimes").with_columns(
        pl.col("recorded_date").str.to_date(strict=False)
    )
    victims = _table(generated_extract, "victims")
    suspects = _table(generated_extract, "suspects")
    for dup, original in pairs.iter_rows():
        a = crimes.filter(pl.col("crime_id") == original).row(0, named=True)
        b = crimes.filter(pl.col("crime_id") == dup).row(0, named=True)
        assert b["offence_code"] == a["offence_code"]
        assert b["offence_code"].split(".")[0] in ("8L", "8Q", "8R")
        assert 1 <= (b["recorded_date"] - a["recorded_date"]).days <= 5
        for rows in (victims, suspects):
            assert sorted(rows.filter(pl.col("crime_id") == dup)["person_id"]) == sorted(
                rows.filter(pl.col("crime_id") == original)["person_id"]
            )


def test_one_off_chains_are_numbered_after_the_simulated_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When every attempt falls short of the slots, the missing slots become one-off chains
    numbered after the chains simulated in the last attempt (not after a raised count)."""
    import numpy as np

    from chi.generate import chains

    calls: list[int] = []

    def short(rng, model, n_chains, intensity, first_day):  # type: ignore[no-untyped-def]
        calls.append(n_chains)
        frailty = np.ones(n_chains)
        chain = np.arange(n_chains) % 3  # only 3 chains have events, one event each day
        days = first_day + 400 + np.arange(n_chains, dtype=np.float64) % 50
        return frailty, chain[:10], days[:10]

    monkeypatch.setattr(chains, "simulate", short)
    model = chains.ChainModel(0.5, 0.1, 0.1, 0.5, 10.0, 100.0)
    slots = np.sort(np.random.default_rng(0).integers(20_000, 20_300, size=100))
    got = chains.assign(np.random.default_rng(1), model, slots, np.ones(365 + 400), 20_000 - 365)
    assert len(calls) == 4 and calls[-1] > calls[0]  # the count was raised each attempt
    assert len(got.chain) == 100
    assert got.chain.max() < got.count == calls[-1] + 90
    assert (got.frailty[calls[-1] :] == 0).all()
    assert np.bincount(got.chain, minlength=got.count)[calls[-1] :].tolist() == [1] * 90


def test_labels_are_text_and_null_for_a_negative_code() -> None:
    codes = np.array([1, -1, 0, 1])
    assert _labels(codes, ("a", "b")).to_list() == ["b", None, "a", "b"]


def test_crime_ids_run_in_recording_order_within_each_year() -> None:
    days = np.array([19722, 19721, 19723, 19722, 19720])  # 2023-12-29 .. 2024-01-01
    zero = np.zeros(len(days), dtype=np.int64)
    crimes = Crimes(
        day=days,
        category=zero,
        key=zero,
        place=zero,
        outside=np.full(len(days), "", dtype=object),
        status=zero,
        victim_kind=zero,
        da=zero.astype(bool),
        hate=zero.astype(bool),
        occurred_offset=zero,
    )
    ids, year = _crime_ids(np.random.Generator(np.random.PCG64(1)), crimes)
    assert year.tolist() == [2023, 2023, 2024, 2023, 2023]
    assert all(re.fullmatch(r"37/\d{6}/2[34]", i) for i in ids.to_list())
    numbers = [int(i.split("/")[1]) for i in ids.to_list()]
    assert len(set(ids.to_list())) == len(days)
    assert numbers[4] < numbers[1] < min(numbers[0], numbers[3])


def test_person_ids_are_distinct_and_padded_to_the_population() -> None:
    rng = np.random.Generator(np.random.PCG64(1))
    small = _person_ids(rng, 50, 1.0).to_list()
    assert len(set(small)) == 50 and all(re.fullmatch(r"P\d{8}", p) for p in small)
    assert all(1 <= int(p[1:]) <= 900_000 for p in small)
    national = _person_ids(rng, 5, 200.0).to_list()  # 180 million: nine digits
    assert all(re.fullmatch(r"P\d{9}", p) for p in national)
