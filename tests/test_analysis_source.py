"""The analyses' frames from staged tables (``chi.analysis.source.analysis_frames``), on
tables small enough to compute by hand: the Home Office code of each crime by its
fallbacks, the place, who counts as a victim, suspect and DA link, the age bands, and the
order of every frame."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from chi.analysis.source import analysis_frames

D = pl.Decimal(18, 2)


def _tables() -> dict[str, pl.DataFrame]:
    ref_weights = pl.DataFrame(
        {
            "offence_key": ["8.1", "8.2", "105A.1", "105A.2", "28.1", "28.2", "9.1"],
            "ho_class": ["008/01", "008/02", "105/01", "105/01", "028/01", "028/02", "009/01"],
            "offence_group": ["8", "8", "105A", "105A", "28", "28", "9"],
            "classification_code": ["8A", "8B", "105A", "105A", "28C", "28C", None],
            "title": ["a", "b", "c", "d", "e", "f", "g"],
            "weight": [Decimal("1.00")] * 7,
        },
        schema_overrides={"weight": D},
    )
    ref_lsoa = pl.DataFrame(
        {
            "lsoa_code": ["E1", "E2"],
            "lsoa_name": ["one", "two"],
            "neighbourhood_code": ["N1", "N2"],
            "neighbourhood_name": ["North one", "South two"],
            "district_code": ["D1", "D2"],
            "district_name": ["Dist one", "Dist two"],
            "area": ["North", "South"],
        }
    )
    # in crime_id order, as published; C5 is not recorded
    crimes = pl.DataFrame(
        {
            "crime_id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7"],
            "recorded_date": [date(2024, 3, 2), date(2024, 3, 1), date(2024, 3, 2),
                              date(2024, 1, 5), date(2024, 1, 1), date(2024, 2, 1),
                              date(2024, 2, 1)],
            "offence_code": ["8.1", "8.9", "28.7", "105A.9", "8.1", None, "77.1"],
            "ho_class": ["008/01", "008/02", "028/09", "105/01", "008/01", "009/01", "077/03"],
            "lsoa_code": ["E1", "E2", None, "E1", "E1", "E9", "E2"],
            "domestic_abuse": [True, False, True, True, True, False, False],
            "da_relationship": ["intimate_partner", None, "family", "ex_partner", None, None,
                                None],
            "status": ["recorded", "recorded", "recorded", "recorded", "cancelled", "recorded",
                       "recorded"],
            "outcome_code": [1, None, 18, 14, None, None, 1],
            "outcome_date": [date(2024, 4, 1), None, None, None, None, None, None],
            "month": ["2024-03", "2024-03", "2024-03", "2024-01", "2024-01", "2024-02",
                      "2024-02"],
            "weight": [Decimal("10.50"), None, Decimal("2.00"), Decimal("0.25"),
                       Decimal("10.50"), None, None],
            "basis": ["exact", "unmatched", "class", "class", "exact", "unmatched",
                      "unmatched"],
            "counted": [True, True, True, False, True, True, True],
        },
        schema_overrides={"weight": D},
    )  # fmt: skip
    persons = pl.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "ORG"],
            "person_type": ["individual", "individual", "individual", "individual",
                            "organisation"],
            "sex": ["female", "male", None, "female", None],
            "birth_date": [date(2006, 3, 2), date(1980, 3, 3), None, date(1959, 1, 1), None],
        }
    )  # fmt: skip
    victims = pl.DataFrame(
        {
            "crime_id": ["C1", "C1", "C2", "C3", "C4", "C5", "C7"],
            "person_id": ["P1", "P4", "ORG", "P3", "P2", "P1", "P2"],
            "dash_risk": ["high", None, None, "standard", "medium", None, None],
        }
    )
    suspects = pl.DataFrame(
        {
            "crime_id": ["C1", "C1", "C3", "C3", "C4", "C6"],
            "person_id": ["P2", "P3", "P3", "ORG", "P1", "P4"],
            "role": ["suspect", "offender", "suspect", "suspect", "charged", "suspect"],
        }
    )
    return {
        "crimes": crimes,
        "persons": persons,
        "victims": victims,
        "suspects": suspects,
        "ref_weights": ref_weights,
        "ref_lsoa": ref_lsoa,
    }


def test_crimes_codes_places_and_order() -> None:
    crimes = analysis_frames(_tables())["crimes"]
    # recorded only, in (recorded date, crime_id) order
    assert crimes["crime_id"].to_list() == ["C4", "C6", "C7", "C2", "C1", "C3"]
    got = {r["crime_id"]: r for r in crimes.iter_rows(named=True)}
    # the exact key's code and subclass
    assert (got["C1"]["ho_code"], got["C1"]["ho_subclass"]) == ("8A", "008/01")
    # no exact key; class 008/02 has one code (8B)
    assert (got["C2"]["ho_code"], got["C2"]["ho_subclass"]) == ("8B", "008/02")
    # no exact key, class 028/09 unknown; group 28 shares one code
    assert (got["C3"]["ho_code"], got["C3"]["ho_subclass"]) == ("28C", "028/09")
    # class 105/01 has one code, for both of its keys
    assert got["C4"]["ho_code"] == "105A"
    # no offence code, class 009/01 has only a null code: the class number, zeros dropped
    assert (got["C6"]["ho_code"], got["C6"]["offence_group"]) == ("9", "009/01")
    # an offence nobody knows: the class number
    assert (got["C7"]["ho_code"], got["C7"]["offence_group"]) == ("77", "77")
    assert got["C1"]["offence_group"] == "8"
    assert got["C1"]["weight"] == 10.5 and got["C2"]["weight"] is None
    assert (got["C1"]["area"], got["C1"]["neighbourhood_name"]) == ("North", "North one")
    assert got["C3"]["area"] is None and got["C6"]["neighbourhood_code"] is None  # no place
    assert crimes.schema["weight"] == pl.Float64


def test_victimisations_suspects_and_links() -> None:
    f = analysis_frames(_tables())
    v = f["victimisations"]
    assert v.select("crime_id", "person_id").rows() == [
        ("C4", "P2"), ("C7", "P2"), ("C2", "ORG"), ("C1", "P1"), ("C1", "P4"), ("C3", "P3"),
    ]  # fmt: skip
    bands = dict(zip(v["crime_id"] + v["person_id"], v["age_band"], strict=True))
    assert bands["C1P1"] == "18-24"  # 18 on the day of the crime, 2024-03-02
    assert bands["C4P2"] == "35-44"  # 43
    assert bands["C1P4"] == "65 and over"  # 65
    assert bands["C3P3"] == "unknown" and bands["C2ORG"] == "unknown"
    assert v.filter(pl.col("person_id") == "P3")["sex"].to_list() == ["unknown"]
    # suspects: individuals only, on recorded crimes, in (date, crime, person) order
    assert f["suspects"].select("crime_id", "person_id").rows() == [
        ("C4", "P1"), ("C6", "P4"), ("C1", "P2"), ("C1", "P3"), ("C3", "P3"),
    ]  # fmt: skip
    # DA links: DA crimes, two different individuals; C3's only victim is its suspect P3
    links = f["da_links"]
    assert links.select("offender_id", "victim_id", "crime_id").rows() == [
        ("P1", "P2", "C4"),
        ("P2", "P1", "C1"), ("P2", "P4", "C1"), ("P3", "P1", "C1"), ("P3", "P4", "C1"),
    ]  # fmt: skip
    first = links.row(0, named=True)
    assert (first["offender_sex"], first["offender_age_band"]) == ("female", "under 18")
    assert first["counted"] is False and first["dash_risk"] == "medium"
    assert links.filter(pl.col("offender_id") == "P3")["offender_sex"].unique().to_list() == [
        "unknown"
    ]
