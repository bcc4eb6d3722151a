"""``chi import``: a force's export in its own shape becomes the same extract, the same lists.

The fixture (``tests/force_export.py``) writes hand-made contract rows as a force might export
them: other column names, UK dates, Y/N flags (in any case), its own status, relationship,
role and category words, Home Office classes only for most crimes and in every common
spelling, some in the offence-code column, retired subclasses, lower-case and padded keys,
crimes split over two files, an unused column. Importing it must give the same persons,
victims and suspects as the contract rows, crimes that differ only in how their offence is
written, and exactly the same lists.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from factory import GBH_S20, crime, person, suspect, victim, write_extract
from force_export import MAPPING, force_rows, write_force_export
from typer.testing import CliRunner

from chi.cli import app
from chi.extract.importer import MappingError, SourceError, import_extract, load_mapping, template
from chi.months import parse_months
from chi.scoring.prepare import prepare
from chi.scoring.score import score

HOME_B = "E01015589"
RAPE_16 = "019/08"  # 1825 days (19C.19.8.0)
S20 = "008/01"  # lowest 19 (minor wound), typical 547.5
ABH_CLASS = "008/06"  # 10 days
BURGLARY = "028/03"  # lowest 10, typical 19
WOUNDING_INTENT = "005/01"  # 1460 days


def content() -> tuple[list[dict[str, Any]], ...]:
    """Crimes in 2024 for eight people and an organisation, most with a class only."""
    persons = [
        person("P1", home_lsoa_code=HOME_B),
        person("P2", sex="M", ethnicity="asian"),
        person("P3", birth_date="2010-05-01", ethnicity="black"),
        person("P4", sex="X", ethnicity=None),
        person("P5", ethnicity="mixed", home_lsoa_code=HOME_B),
        person("P6", ethnicity="not_stated"),
        person("P7", birth_date=None, sex=None),
        person("P8", deceased_date="2024-06-30"),
        person("S1", sex="M"),
        person("S2", sex="M", ethnicity="other"),
        person("O1", person_type="organisation", name="Corner Shop Ltd", sex=None,
               birth_date=None, ethnicity=None),
    ]  # fmt: skip
    plan: list[tuple[str, str, str | None, str | None, dict[str, Any]]] = [
        # crime id, recorded, offence_code, ho_class, extra; victim in the id's prefix
        ("P1-1", "2024-03-04", None, RAPE_16, {}),
        ("P1-2", "2024-09-10", None, ABH_CLASS, {"occurred": "2024-09-01"}),
        ("P2-1", "2024-01-15", "8N.8.6.0", None, {}),
        ("P2-2", "2024-02-15", "8N.8.6.0", None, {"hate": True}),
        ("P2-3", "2024-04-20", None, ABH_CLASS, {"outcome_code": 1, "outcome_date": "2024-06-01"}),
        ("P3-1", "2024-05-05", None, S20, {}),
        ("P3-2", "2024-06-06", None, S20, {}),
        ("P3-3", "2024-07-07", None, BURGLARY, {}),
        ("P3-4", "2024-08-08", None, BURGLARY, {"status": "cancelled"}),
        ("P4-1", "2024-02-02", None, WOUNDING_INTENT, {"outcome_code": 14}),
        ("P4-2", "2024-11-11", None, RAPE_16, {}),
        ("P5-1", "2024-03-03", None, ABH_CLASS, {"domestic_abuse": True,
                                                  "da_relationship": "intimate_partner"}),
        ("P5-2", "2024-04-04", None, ABH_CLASS, {"domestic_abuse": True,
                                                  "da_relationship": "intimate_partner"}),
        ("P5-3", "2024-10-10", GBH_S20, None, {"domestic_abuse": True,
                                                "da_relationship": "ex_partner"}),
        ("P6-1", "2024-06-01", "1.1.1.1", None, {"status": "transferred"}),
        ("P6-2", "2024-06-02", None, WOUNDING_INTENT, {"domestic_abuse": True,
                                                        "da_relationship": "family"}),
        ("P7-1", "2024-07-01", None, BURGLARY, {"lsoa_code": None}),
        ("P7-2", "2024-07-02", None, RAPE_16, {"domestic_abuse": True, "da_relationship": "other"}),
        ("P8-1", "2024-05-01", None, WOUNDING_INTENT, {}),
        ("O1-1", "2024-01-05", "46.46.0.0", None, {}),
        ("O1-2", "2024-02-05", "46.46.0.0", None, {}),
        ("O1-3", "2024-03-05", "46.46.0.0", None, {}),
    ]  # fmt: skip
    crimes = [
        crime(cid, rec, offence_code=code, ho_class=cls, lsoa_code=extra.pop("lsoa_code", HOME_B
              if cid.startswith("P5") else "E01017953"), **extra)
        for cid, rec, code, cls, extra in plan
    ]  # fmt: skip
    victims = [victim(c["crime_id"], c["crime_id"].split("-")[0]) for c in crimes]
    victims[11]["dash_risk"] = "high"
    victims[12]["dash_risk"] = "medium"
    victims[15]["dash_risk"] = "standard"
    suspects = [
        suspect("P5-1", "S1", "charged"),
        suspect("P5-2", "S1", "offender"),
        suspect("P5-3", "S1", "suspect"),
        suspect("P6-2", "S2", "offender"),
        suspect("P7-2", "S2", "suspect"),
    ]
    return crimes, persons, victims, suspects


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("import")
    crimes, persons, victims, suspects = content()
    contract = write_extract(base / "contract", crimes, persons, victims, suspects)
    export = write_force_export(base / "export", crimes, persons, victims, suspects)
    imported = base / "imported"
    import_extract(export, load_mapping(export / "mapping.toml"), imported)
    return contract, export, imported


def test_the_export_uses_every_spelling_the_issue_names(pair: tuple[Path, Path, Path]) -> None:
    _, export, _ = pair
    rows = [
        r
        for name in ("offences_2024a.csv", "offences_2024b.csv")
        for r in csv.DictReader((export / name).open(encoding="utf-8"))
    ]
    codes = {r["OffenceCode"] for r in rows} | {r["HOClass"] for r in rows}
    assert {"19/3", "8/06", "028/90", "8N.8.6.0".lower(), " 8N.8.1.1 ".lower()} & codes
    assert any(r["HOClass"] == "" and "/" in r["OffenceCode"] for r in rows)  # class as code
    assert any(r["OffenceCode"].strip() != r["OffenceCode"] for r in rows)  # padded key
    assert {"019/03", "028/90", "008/05", "005/81"} & {
        f"{int(c.split('/')[0]):03d}/{int(c.split('/')[1]):02d}" for c in codes if "/" in c
    }
    assert {r["DateRecorded"][2] for r in rows} == {"/"}
    assert {r["DAFlag"] for r in rows} == {"Y", "N"}


def test_import_gives_the_contract_tables(pair: tuple[Path, Path, Path]) -> None:
    contract, _, imported = pair
    for name in ("persons", "victims", "suspects"):
        a = pq.read_table(contract / f"{name}.parquet")
        b = pq.read_table(imported / f"{name}.parquet")
        assert b.schema.equals(a.schema), name
        assert b.equals(a), name
    a = pl.read_parquet(contract / "crimes.parquet").sort("crime_id")
    b = pl.read_parquet(imported / "crimes.parquet").sort("crime_id")
    assert b.drop("offence_code", "ho_class").equals(a.drop("offence_code", "ho_class"))
    assert json.loads((imported / "extract.json").read_text()) == {
        "force": "Test",
        "as_of": "2024-12-31",
    }


def test_import_validates_and_scores_to_the_same_lists(pair: tuple[Path, Path, Path]) -> None:
    contract, _, imported = pair
    months = parse_months("2024-01:2024-12")
    with prepare(contract) as a:
        counts_a, basis_a = a.counts, a.basis_counts()
        lists_a = score(a, months)
    with prepare(imported) as b:
        counts_b, basis_b = b.counts, b.basis_counts()
        rules_b = {r: n for _, r, n in b.rule_counts()}
        lists_b = score(b, months)
    assert counts_b == counts_a
    assert all(c.rejected == 0 for c in counts_b.values())
    assert basis_b == basis_a == {"exact": 7, "ho_class_min": 15}
    # every rule of the export was used, and no crime is unmatched
    assert set(rules_b) == {
        "exact",
        "exact_respelt",
        "ho_class",
        "ho_class_respelt",
        "ho_class_in_offence_code",
        "retired_ho_class",
    }
    for name in ("victim_list", "victim_exits", "offender_list", "dyads"):
        assert getattr(lists_b, name).equals(getattr(lists_a, name)), name
    assert lists_a.victim_list.num_rows > 0 and lists_a.dyads.num_rows > 0


def test_xlsx_and_parquet_exports_import_the_same(
    pair: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    import openpyxl

    _, _, imported = pair
    crimes, persons, victims, suspects = content()
    files = force_rows(crimes, persons, victims, suspects)
    xlsx, parquet = tmp_path / "xlsx", tmp_path / "parquet"
    xlsx.mkdir()
    parquet.mkdir()
    for name, (head, body) in files.items():
        book = openpyxl.Workbook()
        ws = book.active
        assert ws is not None
        ws.append(head)
        for row in body:
            # dates as real Excel dates, numbers as numbers: what a spreadsheet holds
            ws.append([_cell(head[i], v) for i, v in enumerate(row)])
        ws.append([None] * len(head))  # a blank row at the end, as spreadsheets have
        book.save(xlsx / name.replace(".csv", ".xlsx"))
        pl.DataFrame(
            {h: [r[i] or None for r in body] for i, h in enumerate(head)},
            schema=dict.fromkeys(head, pl.String),
        ).write_parquet(parquet / name.replace(".csv", ".parquet"))
    for folder, fmt in ((xlsx, "xlsx"), (parquet, "parquet")):
        ext = "xlsx" if fmt == "xlsx" else "parquet"
        mapping = MAPPING.replace('format = "csv"', f'format = "{fmt}"').replace(
            '"offences*.csv"', f'"offences.{ext}"'
        )
        mapping = mapping.replace(".csv", f".{ext}")
        (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
        out = tmp_path / f"out-{fmt}"
        report = import_extract(folder, load_mapping(folder / "mapping.toml"), out)
        if fmt == "xlsx":
            assert report.tables["crimes"].blank_rows == 1
        for name in ("crimes", "persons", "victims", "suspects"):
            a = pl.read_parquet(imported / f"{name}.parquet").sort(pl.all())
            b = pl.read_parquet(out / f"{name}.parquet").sort(pl.all())
            assert b.equals(a), (fmt, name)


def _cell(header: str, value: str) -> Any:
    if value and header in {"DateRecorded", "DateCommitted", "DOB", "OutcomeDate"}:
        d, m, y = (int(p) for p in value.split("/"))
        return date(y, m, d)
    if value and header == "Outcome":
        return int(value)
    return value or None


# --- the import report ---------------------------------------------------------------------


def _small_export(folder: Path, crimes_csv: str, mapping: str = MAPPING) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "offences.csv").write_text(crimes_csv, encoding="utf-8")
    (folder / "nominals.csv").write_text(
        "NominalRef,NominalType,FullName,Gender,DOB,EthnicGroup,HomeLSOA,DateOfDeath\n"
        "N1,Person,Alice Example,Female,01/02/1990,W,,\n"
        "N2,Person,Bob Example,Male,31/02/1990,Z9,,\n"
        "N3,Person,Carol Example,Female,,W,,\n",
        encoding="utf-8",
    )
    (folder / "victims.csv").write_text(
        "CrimeRef,NominalRef,DASHGrade\nC1,N1,\nC2,N2,Severe\nC3,N3,\n", encoding="utf-8"
    )
    (folder / "suspects.csv").write_text("CrimeRef,NominalRef,InvolvementType\n", "utf-8")
    (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
    return folder


HEAD = (
    "OfficerInCase,CrimeRef,DateRecorded,DateCommitted,OffenceCode,HOClass,LSOA,DAFlag,"
    "Relationship,HateFlag,CrimeStatus,Outcome,OutcomeDate\n"
)


def test_report_counts_rows_unmapped_and_unreadable_values(tmp_path: Path) -> None:
    export = _small_export(
        tmp_path / "export",
        HEAD + "PC 1,C1,05/03/2024,,8/1,,E01017953,Y,Partner,N,Confirmed,,\n"
        ",,,,,,,,,,,,\n"
        "PC 2,C2,2024-03-06,5th March,,019/03,,N,,N,Under Review,,\n"
        "PC 3,C3,07/03/2024,,8N.8.6.0,,,maybe,,N,Under Review,x1,\n"
        + "".join(f"PC 4,D{i},08/03/2024,,8/6,,,N,,N,Open,,\n" for i in range(5)),
    )
    out = tmp_path / "extract"
    report = import_extract(export, load_mapping(export / "mapping.toml"), out)
    t = report.tables
    assert (t["crimes"].rows_read, t["crimes"].blank_rows, t["crimes"].rows_written) == (9, 1, 8)
    assert (t["persons"].rows_read, t["persons"].rows_written) == (3, 3)
    assert (t["suspects"].rows_read, t["suspects"].rows_written) == (0, 0)
    text = report.text()
    assert (out / "import_report.txt").read_text(encoding="utf-8") == text
    assert json.loads((out / "import_report.json").read_text()) == report.as_json()
    assert '  crimes.status: "Open" 5\n' in text
    assert (
        "  crimes.status: 1 more value in 2 rows, not shown (each is in fewer than 5 rows; "
        'look in the export\'s column "CrimeStatus")\n'
    ) in text
    assert "  victims.dash_risk: 1 value in 1 row, not shown" in text
    assert "  persons.ethnicity: 1 value in 1 row, not shown" in text
    assert "  crimes.occurred_date: 1 not a date (first: offences.csv row 3)\n" in text
    assert "  crimes.domestic_abuse: 1 not a flag (first: offences.csv row 4)\n" in text
    assert "  crimes.outcome_code: 1 not a whole number (first: offences.csv row 4)\n" in text
    assert "  persons.birth_date: 1 not a date (first: nominals.csv row 2)\n" in text
    assert "crimes: source columns not used: OfficerInCase\n" in text
    assert '  [crimes.values.status]: "No Crime", "Transferred Out"\n' in text
    # no personal value reaches the report: not the names, dates, unread text or rare codes
    for value in ("Alice", "Bob", "31/02/1990", "5th March", "maybe", "x1", "Z9", "Severe",
                  "Under Review"):  # fmt: skip
        assert value not in text, value
        assert value not in (out / "import_report.json").read_text(encoding="utf-8"), value
    # the unmapped status is rejected by validation, with its reason, and counts reconcile
    with prepare(out) as p:
        crimes = p.counts["crimes"]
        assert (crimes.read, crimes.accepted, crimes.rejected) == (8, 1, 7)
        reasons = {r for _, c, r, _ in p.reject_summary() if c == "status"}
        assert reasons == {"not an allowed value"}


def test_a_column_with_no_source_is_null_and_rejected_where_required(tmp_path: Path) -> None:
    mapping = MAPPING.replace('status = "CrimeStatus"\n', "").replace(
        '[crimes.values.status]\n"Confirmed" = "recorded"\n"No Crime" = "cancelled"\n'
        '"Transferred Out" = "transferred"\n',
        "",
    )
    export = _small_export(
        tmp_path / "export",
        HEAD + "PC 1,C1,05/03/2024,,8/1,,,N,,N,Confirmed,,\n",
        mapping,
    )
    report = import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert "status" in report.tables["crimes"].null_columns
    assert "crimes: left null (no source column): status\n" in report.text()
    with prepare(tmp_path / "x") as p:
        assert p.counts["crimes"].rejected == 1
        assert ("crimes", "status", "missing value", 1) in p.reject_summary()


def test_constants_and_encoding(tmp_path: Path) -> None:
    mapping = (
        MAPPING.replace('date_format = "%d/%m/%Y"', 'date_format = "%d/%m/%Y"\nencoding = "cp1252"')
        .replace('person_type = "NominalType"\n', "")
        .replace('[persons.values.person_type]\n"Person" = "individual"\n"Business" = '
                 '"organisation"\n', '[persons.constants]\nperson_type = "individual"\n')
    )  # fmt: skip
    folder = tmp_path / "export"
    _small_export(folder, HEAD, mapping)
    (folder / "nominals.csv").write_bytes(
        "NominalRef,NominalType,FullName,Gender,DOB,EthnicGroup,HomeLSOA,DateOfDeath\n"
        "N1,,Zoë Brontë £,Female,01/02/1990,W,,\n".encode("cp1252")
    )
    import_extract(folder, load_mapping(folder / "mapping.toml"), tmp_path / "x")
    persons = pl.read_parquet(tmp_path / "x" / "persons.parquet")
    assert persons["name"].to_list() == ["Zoë Brontë £"]
    assert persons["person_type"].to_list() == ["individual"]
    (folder / "nominals.csv").write_bytes(b"NominalRef,FullName\nN1,Zo\x81\n")
    with pytest.raises(SourceError, match=r"nominals.csv: not valid cp1252 at byte"):
        import_extract(folder, load_mapping(folder / "mapping.toml"), tmp_path / "y")
    assert not (tmp_path / "y").exists()


def test_an_existing_extract_is_not_overwritten(tmp_path: Path) -> None:
    export = _small_export(tmp_path / "export", HEAD)
    (tmp_path / "x").mkdir()
    with pytest.raises(SourceError, match="already exists"):
        import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")


# --- mapping errors name the line ----------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (('file = "nominals.csv"', 'file = "people.csv"'), 'file = "people.csv"',
         r'\[persons\] file = "people.csv" matches no file in'),
        (('crime_id = "CrimeRef"', 'crime_ref = "CrimeRef"'), 'crime_ref = "CrimeRef"',
         r"'crime_ref' is not a column of crimes \(columns: crime_id, recorded_date"),
        (('hate = "HateFlag"', 'hate = "Hate"'), 'hate = "Hate"',
         r'\[crimes.columns\] hate = "Hate": no column "Hate" in offences.csv \(its columns: '
         r"OfficerInCase, CrimeRef"),
        (('"No Crime" = "cancelled"', '"No Crime" = "no_crime"'), '"No Crime" = "no_crime"',
         r"'no_crime' is not a value of status \(recorded, cancelled, transferred\)"),
        (('format = "csv"', 'format = "sav"'), 'format = "sav"', "format must be one of"),
        (('[victims]', '[victim]'), "[victim]", r"unknown table \[victim\]"),
        (('dash_risk = "DASHGrade"', 'dash_risk = "DASHGrade"\nrisk = "x"'), 'risk = "x"',
         "'risk' is not a column of victims"),
        (('file = "victims.csv"', 'file = "victims.csv"\nsheets = "x"'), 'sheets = "x"',
         "unknown key 'sheets' in \\[victims\\]"),
        (('as_of = "2024-12-31"', 'as_of = "31/12/2024"'), 'as_of = "31/12/2024"',
         "as_of must be a date"),
    ],
)  # fmt: skip
def test_a_wrong_mapping_is_one_error_naming_its_line(
    tmp_path: Path, change: tuple[str, str], needle: str, message: str
) -> None:
    mapping = MAPPING.replace(*change)
    assert mapping != MAPPING
    export = _small_export(tmp_path / "export", HEAD + "PC,C1,05/03/2024,,8/1,,,N,,N,Confirmed,,\n",
                           mapping)  # fmt: skip
    line = _line_of(mapping, needle)
    with pytest.raises(MappingError, match=rf"mapping.toml line {line}: .*{message}"):
        import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_mapping_that_is_not_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[source]\nformat = "csv\n', encoding="utf-8")
    with pytest.raises(MappingError, match=r"m.toml: not valid TOML \(.*line 2"):
        load_mapping(path)


def test_a_missing_required_table_is_an_error_but_suspects_may_be_left_out(
    tmp_path: Path,
) -> None:
    no_suspects = MAPPING[: MAPPING.index("[suspects]")]
    export = _small_export(tmp_path / "export", HEAD, no_suspects)
    report = import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert not report.tables["suspects"].mapped
    assert pq.read_table(tmp_path / "x" / "suspects.parquet").num_rows == 0
    path = tmp_path / "m.toml"
    path.write_text(MAPPING.replace("[victims]", "[suspects_old]").split("[suspects_old]")[0])
    with pytest.raises(MappingError, match=r"no \[victims\] table"):
        load_mapping(path)


# --- the template and the command line -----------------------------------------------------


def test_the_template_is_a_working_mapping_for_a_contract_shaped_export(tmp_path: Path) -> None:
    crimes, persons, victims, suspects = content()
    contract = write_extract(tmp_path / "contract", crimes, persons, victims, suspects)
    export = tmp_path / "export"
    export.mkdir()
    for name in ("crimes", "persons", "victims", "suspects"):
        pl.read_parquet(contract / f"{name}.parquet").write_csv(export / f"{name}.csv")
    text = template()
    for table in ("crimes", "persons", "victims", "suspects"):
        assert f"[{table}.columns]" in text
    (export / "mapping.toml").write_text(text, encoding="utf-8")
    mapping = load_mapping(export / "mapping.toml")
    assert mapping.meta.force == "Your force"
    import_extract(export, mapping, tmp_path / "x")
    for name in ("crimes", "persons", "victims", "suspects"):
        a = pq.read_table(contract / f"{name}.parquet")
        assert pq.read_table(tmp_path / "x" / f"{name}.parquet").equals(a), name


def test_cli_import_template_report_and_errors(
    pair: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["import", "--template"])
    assert got.exit_code == 0 and got.stdout == template()
    _, export, _ = pair
    out = tmp_path / "x"
    got = runner.invoke(app, ["import", str(export), "--mapping", str(export / "mapping.toml"),
                              "--out", str(out)])  # fmt: skip
    assert got.exit_code == 0, got.output
    assert got.stdout == (out / "import_report.txt").read_text(encoding="utf-8")
    assert "crimes    2      22         0           22" in got.stdout
    assert f"next: chi validate {out}" in got.stdout
    got = runner.invoke(app, ["validate", str(out)])
    assert got.exit_code == 0
    assert "retired_ho_class" in got.stdout and "ho_class_in_offence_code" in got.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING.replace('file = "victims.csv"', 'file = "v.csv"'), encoding="utf-8")
    got = runner.invoke(app, ["import", str(export), "--mapping", str(bad), "--out",
                              str(tmp_path / "y")])  # fmt: skip
    assert got.exit_code == 2
    line = _line_of(bad.read_text(), 'file = "v.csv"')
    assert got.stderr.strip().splitlines() == [
        f'chi: {bad} line {line}: [victims] file = "v.csv" matches no file in {export}'
    ]
    got = runner.invoke(app, ["import", str(export)])
    assert got.exit_code == 2 and "--mapping" in got.stderr


# --- what real exports look like -----------------------------------------------------------


def test_bom_spaced_headers_and_a_time_of_day_are_read(tmp_path: Path) -> None:
    export = _small_export(
        tmp_path / "export",
        "\ufeff" + HEAD.replace("CrimeRef", " CrimeRef ")
        + 'x,C1,05/03/2024 14:30,"04/03/2024",8/1,,,Y,,N,Confirmed,,2024-03-07T10:00:00\n',
    )  # fmt: skip
    import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    row = pl.read_parquet(tmp_path / "x" / "crimes.parquet").row(0, named=True)
    assert row["crime_id"] == "C1"
    assert row["recorded_date"] == date(2024, 3, 5)
    assert row["occurred_date"] == date(2024, 3, 4)
    assert row["outcome_date"] == date(2024, 3, 7)


def test_a_blank_value_can_be_mapped(tmp_path: Path) -> None:
    mapping = MAPPING.replace(
        '"Confirmed" = "recorded"', '"Confirmed" = "recorded"\n"" = "recorded"'
    )
    export = _small_export(
        tmp_path / "export", HEAD + "x,C1,05/03/2024,,8/1,,,Y,,N,,,\n", mapping
    )  # fmt: skip
    report = import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert pl.read_parquet(tmp_path / "x" / "crimes.parquet")["status"].to_list() == ["recorded"]
    assert '""' not in report.text()


def test_another_delimiter(tmp_path: Path) -> None:
    mapping = MAPPING.replace('format = "csv"', 'format = "csv"\ndelimiter = ";"')
    export = _small_export(
        tmp_path / "export", HEAD.replace(",", ";") + "x;C1;05/03/2024;;8/1;;;Y;;N;Confirmed;;\n",
        mapping,
    )  # fmt: skip
    for name in ("nominals.csv", "victims.csv", "suspects.csv"):
        path = export / name
        path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert pl.read_parquet(tmp_path / "x" / "persons.parquet").height == 3


@pytest.mark.parametrize(
    ("crimes_csv", "message"),
    [
        (HEAD.replace("LSOA", "CrimeRef") + "x,C1,,,,,,,,,,,\n",
         r"offences.csv: column 'CrimeRef' appears more than once in the header"),
        (HEAD + "x,C1,,,,,,,,,,,,,extra\n",
         r"offences.csv: cannot be read as CSV with delimiter ','"),
        ("", r"offences.csv: the file is empty \(no header row\)"),
    ],
)  # fmt: skip
def test_a_source_that_cannot_be_read_is_one_error_naming_the_file(
    tmp_path: Path, crimes_csv: str, message: str
) -> None:
    export = _small_export(tmp_path / "export", crimes_csv)
    with pytest.raises(SourceError, match=message):
        import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_the_line_finder_reads_tables_quoted_and_dotted_keys() -> None:
    from chi.extract.importer import _Lines

    lines = _Lines(
        '# comment\n[crimes]\nfile = "a.csv"\ncolumns.crime_id = "Ref"\n'
        '[crimes.values.status]\n"No Crime" = "cancelled"\n[ "persons" ]\n'
    )
    assert lines.line("crimes", "file") == 3
    assert lines.line("crimes", "columns", "crime_id") == 4
    assert lines.line("crimes", "values", "status", "No Crime") == 6
    assert lines.line("crimes", "values", "status", "Missing") == 5
    assert lines.line("persons") == 7


@pytest.mark.slow
def test_a_generated_extract_in_force_shape_scores_to_the_same_lists(
    clean_extract: Path, tmp_path: Path
) -> None:
    """The whole generated year, with two crimes in three given by class only, exported in the
    force's shape, imported and scored: the same lists as the contract extract."""
    from chi.contract import TABLES
    from chi.reference import load_weight_set

    sheet = pl.read_csv(load_weight_set("chi2020").path, infer_schema=False)
    class_of = dict(zip(sheet["offence_key"], sheet["ho_class"], strict=True))
    with prepare(clean_extract) as p:
        rows = {
            name: p.con.cursor()
            .sql(f"select * exclude (_file, _row) from valid_{name} order by _file, _row")
            .pl()
            .select(list(TABLES[name].column_names))
            .to_dicts()
            for name in TABLES
        }
    for i, c in enumerate(rows["crimes"]):
        key = c["offence_code"]
        if key in class_of and i % 3:
            c["offence_code"], c["ho_class"] = None, class_of[key]
    contract = write_extract(tmp_path / "contract", **rows)
    export = write_force_export(tmp_path / "export", **rows)
    imported = tmp_path / "imported"
    report = import_extract(export, load_mapping(export / "mapping.toml"), imported)
    assert report.tables["crimes"].rows_written == len(rows["crimes"])
    months = ["2024-11", "2024-12"]
    with prepare(contract) as a:
        lists_a, basis_a = score(a, months), a.basis_counts()
    with prepare(imported) as b:
        lists_b, basis_b = score(b, months), b.basis_counts()
        assert all(c.rejected == 0 for c in b.counts.values())
    assert basis_b == basis_a
    assert basis_a["ho_class_min"] > len(rows["crimes"]) // 2
    for name in ("victim_list", "victim_exits", "offender_list", "dyads"):
        assert getattr(lists_b, name).equals(getattr(lists_a, name)), name


def test_xlsx_sheets_are_chosen_by_name(tmp_path: Path) -> None:
    import openpyxl

    export = tmp_path / "export"
    _small_export(export, HEAD)
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Notes"
    first.append(["nothing here"])
    crimes = book.create_sheet("Crimes")
    crimes.append(HEAD.strip().split(","))
    crimes.append(["PC", "C1", date(2024, 3, 5), None, "8/1", None, None, "Y", None, "N",
                   "Confirmed", 14, None])  # fmt: skip
    book.save(export / "offences.xlsx")
    for name in ("nominals", "victims", "suspects"):
        csv_text = (export / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        sheet_book = openpyxl.Workbook()
        ws = sheet_book.active
        assert ws is not None
        for line in csv_text:
            ws.append(line.split(","))
        sheet_book.save(export / f"{name}.xlsx")
    mapping = MAPPING.replace('format = "csv"', 'format = "xlsx"').replace(".csv", ".xlsx")
    mapping = mapping.replace('file = "offences*.xlsx"', 'file = "offences.xlsx"\nsheet = "Crimes"')
    (export / "mapping.toml").write_text(mapping, encoding="utf-8")
    import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    row = pl.read_parquet(tmp_path / "x" / "crimes.parquet").row(0, named=True)
    assert (row["crime_id"], row["recorded_date"], row["outcome_code"]) == (
        "C1",
        date(2024, 3, 5),
        14,
    )
    (export / "mapping.toml").write_text(mapping.replace('"Crimes"', '"Offences"'), "utf-8")
    with pytest.raises(SourceError, match=r"offences.xlsx: no sheet 'Offences' \(sheets: Notes, "):
        import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "y")
    csv_mapping = MAPPING.replace('file = "offences*.csv"', 'file = "offences*.csv"\nsheet = "A"')
    (export / "mapping.toml").write_text(csv_mapping, encoding="utf-8")
    sheet_line = _line_of(csv_mapping, 'sheet = "A"')
    with pytest.raises(MappingError, match=rf"line {sheet_line}: sheet is the name of an XLSX"):
        load_mapping(export / "mapping.toml")


def test_a_typed_parquet_export_imports_losslessly(tmp_path: Path) -> None:
    """Parquet with real dates, flags and integers (a warehouse export in the contract's
    shape but with its own file names): the template mapping, pointed at the files."""
    crimes, persons, victims, suspects = content()
    contract = write_extract(tmp_path / "contract", crimes, persons, victims, suspects)
    export = tmp_path / "export"
    export.mkdir()
    for name in ("crimes", "persons", "victims", "suspects"):
        frame = pl.read_parquet(contract / f"{name}.parquet")
        if name == "crimes":  # a timestamp at midnight, as warehouses write dates
            frame = frame.with_columns(pl.col("recorded_date").cast(pl.Datetime("us")))
        frame.write_parquet(export / f"dw_{name}.parquet")
    mapping = template().replace('format = "csv"', 'format = "parquet"')
    for name in ("crimes", "persons", "victims", "suspects"):
        mapping = mapping.replace(f'file = "{name}.csv"', f'file = "dw_{name}.parquet"')
    (export / "mapping.toml").write_text(mapping, encoding="utf-8")
    import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    for name in ("crimes", "persons", "victims", "suspects"):
        a = pq.read_table(contract / f"{name}.parquet")
        assert pq.read_table(tmp_path / "x" / f"{name}.parquet").equals(a), name


def test_local_offence_codes_are_mapped_like_any_value(tmp_path: Path) -> None:
    mapping = MAPPING.replace(
        "[persons]", '[crimes.values.offence_code]\n"ASSLT-ABH" = "8N.8.6.0"\n\n[persons]'
    )
    export = _small_export(
        tmp_path / "export",
        HEAD + "x,C1,05/03/2024,,asslt-abh,,,N,,N,Confirmed,,\n"
        "x,C2,05/03/2024,,LOCAL-99,,,N,,N,Confirmed,,\n",
        mapping,
    )
    import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    codes = pl.read_parquet(tmp_path / "x" / "crimes.parquet")["offence_code"].to_list()
    assert codes == ["8N.8.6.0", "LOCAL-99"]
    with prepare(tmp_path / "x") as p:
        assert p.unmatched_codes() == [("LOCAL-99", "(none)", 1)]


def test_unnamed_columns_from_trailing_commas_are_ignored(tmp_path: Path) -> None:
    export = _small_export(
        tmp_path / "export",
        HEAD.rstrip("\n") + ",,\n" + "x,C1,05/03/2024,,8/1,,,N,,N,Confirmed,,,,\n",
    )
    report = import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    assert report.tables["crimes"].unused_source_columns == ["OfficerInCase"]
    assert report.tables["crimes"].rows_written == 1


def test_whole_numbers_written_as_floats_are_read(tmp_path: Path) -> None:
    export = _small_export(
        tmp_path / "export",
        HEAD + "x,C1,05/03/2024,,8/1,,,N,,N,Confirmed,14.0,\n"
        "x,C2,05/03/2024,,8/1,,,N,,N,Confirmed,14.5,\n"
        "x,C3,05/03/2024,,8/1,,,N,,N,Confirmed,99999,\n",
    )
    report = import_extract(export, load_mapping(export / "mapping.toml"), tmp_path / "x")
    codes = pl.read_parquet(tmp_path / "x" / "crimes.parquet")["outcome_code"].to_list()
    assert codes == [14, None, None]
    assert report.tables["crimes"].columns["outcome_code"].unread == 2


def test_a_column_of_names_mapped_to_a_coded_column_shows_no_value() -> None:
    """Names mapped into ``sex`` by mistake: however often a common name recurs, a column with
    more than 20 different uncovered values shows none of them, only the counts and a hint."""
    from collections import Counter

    from chi.extract.importer import MAX_SHOWN_VALUES, SMALL_COUNT, _shown_values

    names = Counter({f"Name {i}": 1 for i in range(MAX_SHOWN_VALUES)})
    names["Olivia Wilson"] = SMALL_COUNT + 3
    shown = _shown_values(names)
    assert shown["values"] == {} and shown.get("many") is True
    assert shown["suppressed_values"] == MAX_SHOWN_VALUES + 1
    assert shown["suppressed_rows"] == MAX_SHOWN_VALUES + SMALL_COUNT + 3
    codes = Counter({"Pending": SMALL_COUNT, "Odd": 1})
    assert _shown_values(codes) == {
        "values": {"Pending": SMALL_COUNT},
        "suppressed_values": 1,
        "suppressed_rows": 1,
    }
