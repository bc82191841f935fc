"""Hand-built cases for the plain-Python reference implementation of the edit catalog."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from tests.reference_impl import (
    ANY_DELIVERY,
    EXTERNAL_BEAM,
    INDICATION_RANGES,
    OPTIONAL_ROW_IDS,
    TECHNICAL_ONLY,
    VALIDITY,
    age_on,
    derive_component,
    derive_scheme,
    derive_setting,
    parse_date,
    parse_diagnoses,
    parse_modifiers,
    parse_tags,
    parse_units,
    reference_findings,
)

DOS = "2020-03-02"


def row(
    code: str, n: int = 1, claim: str = "C1", patient: str = "P1", dos: str = DOS, **extra: Any
) -> dict[str, Any]:
    """One CSV-like claim line; by default an OPPS line of an adult of unknown age."""
    base: dict[str, Any] = {
        "claim_id": claim,
        "line_number": str(n),
        "patient_id": patient,
        "service_date": dos,
        "procedure_code": code,
        "modifiers": "",
        "units": "",
        "setting": "OPPS",
    }
    base.update(extra)
    return base


def flagged(rule_id: str, *rows: dict[str, Any], **options: Any) -> set[tuple[str, int]]:
    """(claim_id, line_number) of the lines the rule flags in the run."""
    return {(c, n) for r, c, n in reference_findings(rows, **options) if r == rule_id}


# --------------------------------------------------------------------------------------------
# Literal tables
# --------------------------------------------------------------------------------------------


def test_code_set_sizes_match_the_catalog() -> None:
    assert {"G6003", "G6014"} <= EXTERNAL_BEAM and "G6015" in EXTERNAL_BEAM
    assert len(TECHNICAL_ONLY) == 5 + 14 + 4  # 77371 and 77372 from catalog v2
    assert "G0173" in EXTERNAL_BEAM and "G0251" in ANY_DELIVERY
    assert "77432" not in ANY_DELIVERY
    assert {"77401", "77437", "77770", "0395T", "77525", "77425"} <= ANY_DELIVERY


def test_validity_rows_are_merged_per_code() -> None:
    assert VALIDITY["77385"] == (date(2015, 1, 1), date(2025, 12, 31))
    assert VALIDITY["77387"] == (date(2015, 1, 1), None)
    assert VALIDITY["G6017"] == (date(2015, 1, 1), date(2025, 12, 31))
    assert VALIDITY["77014"] == (None, date(2025, 12, 31))
    assert VALIDITY["77439"] == (date(2026, 1, 1), None)


def test_optional_rows_are_identified_by_letter_and_first_code() -> None:
    expected = {
        "B-C78.7",
        "C-C77.0",
        "C-C73",
        "D-C88.40",
        "E-C78.00",
        "J-C21.0",
        "O-D09.0",
        "P-C46.0",
    }
    assert expected == OPTIONAL_ROW_IDS
    assert all(letter in "ABCDEFGHIJKLMNOP" for letter, *_ in INDICATION_RANGES)


# --------------------------------------------------------------------------------------------
# Parsing and derivations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2015-05-30",
        "05/30/2015",
        "20150530",
        "30-May-2015",
        "30-MAY-2015",
        date(2015, 5, 30),
        datetime(2015, 5, 30, 0, 0),
    ],
)
def test_parse_date_forms(value: Any) -> None:
    assert parse_date(value) == date(2015, 5, 30)


def test_parse_date_blank_and_bad() -> None:
    assert parse_date("") is None and parse_date(None) is None and parse_date(float("nan")) is None
    with pytest.raises(ValueError):
        parse_date("2015/05/30")


def test_parse_lists() -> None:
    assert parse_modifiers("tc, 59") == {"TC", "59"}
    assert parse_modifiers("26 XS") == {"26", "XS"}
    assert parse_modifiers("TC:59|XU") == {"TC", "59", "XU"}
    assert parse_modifiers(26) == {"26"}
    assert parse_diagnoses("c50.912; C61|z92.3 C20,C19") == {"C50912", "C61", "Z923", "C20", "C19"}
    assert parse_tags("Boost;photon prone,DIBH") == {"boost", "photon", "prone", "dibh"}


def test_parse_units() -> None:
    assert parse_units("") == 1 and parse_units(None) == 1
    assert parse_units("2") == 2 and parse_units("1.0") == 1 and parse_units(0) == 0


@pytest.mark.parametrize(
    ("fields", "setting"),
    [
        ({"setting": "HOPPS"}, "OPPS"),
        ({"setting": "hopd"}, "OPPS"),
        ({"setting": "PFS"}, "MPFS"),
        ({"setting": "other", "claim_type": "P"}, "OTHER"),
        ({"setting": "MPFS", "claim_type": "I", "bill_type": "131"}, "MPFS"),
        ({"setting": "", "claim_type": "I", "bill_type": "131"}, "OPPS"),
        ({"claim_type": "institutional", "bill_type": "0121"}, "OPPS"),
        ({"claim_type": "837I", "bill_type": "141"}, "OPPS"),
        ({"claim_type": "UB-04", "bill_type": "0851"}, "OTHER"),
        ({"claim_type": "I", "bill_type": "111"}, "OTHER"),
        ({"claim_type": "I"}, "OTHER"),
        ({"claim_type": "professional", "bill_type": "131"}, "MPFS"),
        ({"claim_type": "CMS-1500"}, "MPFS"),
        ({"claim_type": "837P", "place_of_service": "22"}, "MPFS"),
        ({"bill_type": 131}, "OPPS"),
        ({"bill_type": "831", "place_of_service": "11"}, "OTHER"),
        ({"place_of_service": "11"}, "MPFS"),
        ({}, ""),
        ({"setting": "", "claim_type": "", "bill_type": "", "place_of_service": None}, ""),
    ],
)
def test_derive_setting(fields: dict[str, Any], setting: str) -> None:
    assert derive_setting(fields) == setting


def test_derive_scheme() -> None:
    assert derive_scheme("OPPS", "", "", set(), set()) == "cpt"
    assert derive_scheme("MPFS", "Acme", "commercial", set(), set()) == "gcode"
    assert derive_scheme("MPFS", "Acme", "", {"acme"}, set()) == "cpt"
    assert derive_scheme("MPFS", "", "commercial", set(), {"commercial"}) == "cpt"
    assert derive_scheme("OTHER", "Acme", "", {"acme"}, set()) == ""
    assert derive_scheme("", "", "", set(), set()) == ""


def test_derive_component() -> None:
    assert derive_component({"26", "TC"}) == "PC"
    assert derive_component({"TC", "59"}) == "TC"
    assert derive_component({"59"}) == "global"


def test_age_turns_on_the_birthday() -> None:
    assert age_on(date(2001, 3, 2), date(2020, 3, 1)) == 18
    assert age_on(date(2001, 3, 2), date(2020, 3, 2)) == 19
    assert age_on(date(2000, 2, 29), date(2019, 2, 28)) == 18
    assert age_on(date(2000, 2, 29), date(2019, 3, 1)) == 19


# --------------------------------------------------------------------------------------------
# Scope, patient-days and input errors
# --------------------------------------------------------------------------------------------


def test_birthday_boundary_of_adult_age() -> None:
    lone = {"patient_birth_date": "2001-03-02", "modifiers": "TC"}
    assert flagged("IGRT012", row("77387", dos="2020-03-01", **lone)) == set()
    assert flagged("IGRT012", row("77387", dos="2020-03-02", **lone)) == {("C1", 1)}


def test_adult_age_is_configurable_and_age_column_is_the_fallback() -> None:
    line = row("77387", patient_age="18", modifiers="TC")
    assert flagged("IGRT012", line) == set()
    assert flagged("IGRT012", line, adult_age=18) == {("C1", 1)}
    # The birth date wins over the age column; a blank birth date falls back to the age.
    assert flagged("IGRT012", {**line, "patient_birth_date": "1950-01-01"}) == {("C1", 1)}
    assert flagged("IGRT012", {**line, "patient_birth_date": ""}) == set()
    assert flagged("IGRT012", row("77387", modifiers="TC", patient_age="")) == {("C1", 1)}


def test_out_of_scope_lines_never_make_another_line_fire() -> None:
    child_igrt = row("77387", 1, patient_age="12")
    adult_consult = row("77370", 2, patient_age="40")
    assert flagged("IGRT011", child_igrt, adult_consult) == set()
    assert flagged("IGRT011", {**child_igrt, "patient_age": "40"}, adult_consult) == {("C1", 2)}


def test_patient_day_spans_claims_but_not_patients_or_dates() -> None:
    a = row("77387", 1, claim="A")
    b = row("77014", 1, claim="B")
    assert flagged("IGRT005", a, b) == {("A", 1), ("B", 1)}
    assert flagged("IGRT005", a, {**b, "patient_id": "P2"}) == set()
    assert flagged("IGRT005", a, {**b, "service_date": "2020-03-03"}) == set()
    # The same date written in another form is the same patient-day.
    assert flagged("IGRT005", a, {**b, "service_date": "03/02/2020"}) == {("A", 1), ("B", 1)}


def test_duplicate_keys_and_shared_claim_ids_reject_every_row_involved() -> None:
    first = row("77387", 1, claim="A")
    duplicate = row("77014", 1, claim="A")
    other_day = row("77014", 2, claim="A", dos="2020-03-03")
    assert reference_findings([first, duplicate]) == set()
    stranger = row("77014", 2, claim="A", patient="P2")
    findings = reference_findings([first, stranger, row("77014", 1, claim="B")])
    assert {(c, n) for _, c, n in findings} == {("B", 1)}
    assert ("IGRT012", "A", 2) in reference_findings([first, other_day])


def test_parquet_like_values() -> None:
    rows = [
        {
            "claim_id": 1001,
            "line_number": 1,
            "patient_id": 7,
            "service_date": date(2020, 3, 2),
            "procedure_code": "77387",
            "units": 2.0,
            "setting": "OPPS",
            "patient_birth_date": date(1960, 1, 1),
        },
        {
            "claim_id": 1001,
            "line_number": 2,
            "patient_id": 7,
            "service_date": datetime(2020, 3, 2),
            "procedure_code": 77412,
            "units": None,
            "setting": "OPPS",
            "patient_birth_date": None,
            "patient_age": 60,
        },
    ]
    assert ("IGRT006", "1001", 1) in reference_findings(rows)
    assert ("IGRT007", "1001", 1) not in reference_findings(rows)  # no diagnosis column


# --------------------------------------------------------------------------------------------
# IGRT001 code-not-valid-on-date, with the era boundaries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "dos", "fires"),
    [
        ("76950", "2014-12-31", False),
        ("76950", "2015-01-01", True),
        ("0073T", "2014-12-31", False),
        ("0073T", "2015-01-01", True),
        ("G0251", "2014-12-31", False),
        ("G0251", "2015-01-01", True),
        ("77387", "2014-12-31", True),
        ("77387", "2015-01-01", False),
        ("77387", "2026-01-01", False),
        ("77387", "2030-06-01", False),
        ("G6017", "2014-12-31", True),
        ("G6017", "2015-01-01", False),
        ("G6017", "2025-12-31", False),
        ("G6017", "2026-01-01", True),
        ("77385", "2025-12-31", False),
        ("77385", "2026-01-01", True),
        ("77014", "2010-01-01", False),
        ("77014", "2025-12-31", False),
        ("77014", "2026-01-01", True),
        ("77401", "2026-01-01", True),
        ("0394T", "2026-01-01", True),
        ("77767", "2015-12-31", True),
        ("77767", "2016-01-01", False),
        ("32701", "2018-12-31", True),
        ("32701", "2019-01-01", False),
        ("G0563", "2024-12-31", True),
        ("G0563", "2025-01-01", False),
        ("77437", "2025-12-31", True),
        ("77437", "2026-01-01", False),
        ("77439", "2025-12-31", True),
        ("77439", "2026-01-01", False),
        ("77412", "2010-01-01", False),
        ("77412", "2030-01-01", False),
    ],
)
def test_igrt001(code: str, dos: str, fires: bool) -> None:
    assert flagged("IGRT001", row(code, dos=dos)) == ({("C1", 1)} if fires else set())


# --------------------------------------------------------------------------------------------
# IGRT002 code-not-recognized-in-setting: scheme and setting combinations, era boundaries
# --------------------------------------------------------------------------------------------


def _setting(setting: str, **extra: Any) -> dict[str, Any]:
    return {"setting": setting, **extra}


@pytest.mark.parametrize(
    ("code", "fields", "options", "fires"),
    [
        ("G6001", _setting("OPPS"), {}, True),
        ("G6015", _setting("", claim_type="I", bill_type="0131"), {}, True),
        ("77387", _setting("OPPS"), {}, False),
        ("77385", _setting("OPPS"), {}, False),
        ("G6001", _setting("MPFS"), {}, False),
        ("77387", _setting("MPFS"), {}, True),
        ("77412", _setting("", claim_type="P"), {}, True),
        ("77014", _setting("MPFS"), {}, False),
        ("77387", _setting("MPFS", payer="Acme Health"), {"cpt_payers": ["ACME HEALTH"]}, False),
        ("G6001", _setting("MPFS", payer="Acme Health"), {"cpt_payers": ["acme health"]}, True),
        ("G6001", _setting("MPFS", payer="Acme"), {"cpt_payers": ["Acme Health"]}, False),
        (
            "77387",
            _setting("MPFS", line_of_business="Commercial"),
            {"cpt_lines_of_business": ["commercial"]},
            False,
        ),
        (
            "G6002",
            _setting("MPFS", line_of_business="commercial"),
            {"cpt_lines_of_business": ["commercial"]},
            True,
        ),
        ("G6001", _setting("OTHER"), {}, False),
        ("77387", _setting("", claim_type="I", bill_type="0851"), {}, False),
        ("G6001", _setting(""), {}, False),
        ("77387", _setting(""), {}, False),
    ],
)
def test_igrt002_schemes(
    code: str, fields: dict[str, Any], options: dict[str, Any], fires: bool
) -> None:
    assert flagged("IGRT002", row(code, **fields), **options) == ({("C1", 1)} if fires else set())


@pytest.mark.parametrize(
    ("dos", "fires"),
    [
        ("2014-12-31", False),
        ("2015-01-01", True),
        ("2025-12-31", True),
        ("2026-01-01", False),
    ],
)
def test_igrt002_era(dos: str, fires: bool) -> None:
    assert flagged("IGRT002", row("G6001", dos=dos)) == ({("C1", 1)} if fires else set())
    mpfs = row("77402", dos=dos, setting="MPFS")
    assert flagged("IGRT002", mpfs) == ({("C1", 1)} if fires else set())


# --------------------------------------------------------------------------------------------
# IGRT003 igrt-tc-packaged-into-imrt
# --------------------------------------------------------------------------------------------


def test_igrt003_fires_on_cpt_scheme_non_pc_guidance_with_imrt_on_the_day() -> None:
    imrt = row("77386", 1, claim="D")
    assert flagged("IGRT003", row("77387", 1, modifiers="TC"), imrt) == {("C1", 1)}
    assert flagged("IGRT003", row("77014", 1), imrt) == {("C1", 1)}
    # The IMRT line may be an electron line or on another claim: the code is what counts.
    assert flagged("IGRT003", row("77387"), {**imrt, "beam_modality": "electron"}) == {("C1", 1)}


def test_igrt003_does_not_fire() -> None:
    imrt = row("77385", 2)
    assert flagged("IGRT003", row("77387", modifiers="26"), imrt) == set()
    assert flagged("IGRT003", row("77387"), row("77412", 2)) == set()
    assert flagged("IGRT003", row("G6001"), imrt) == set()
    assert flagged("IGRT003", row("77387"), {**imrt, "service_date": "2020-03-03"}) == set()


@pytest.mark.parametrize(
    ("fields", "options", "fires"),
    [
        (_setting("OPPS"), {}, True),
        (_setting("MPFS"), {}, False),
        (_setting("MPFS", payer="Acme"), {"cpt_payers": ["acme"]}, True),
        (
            _setting("MPFS", line_of_business="medicaid"),
            {"cpt_lines_of_business": ["medicaid"]},
            True,
        ),
        (_setting("OTHER"), {}, False),
        (_setting(""), {}, False),
        (_setting("", claim_type="I", bill_type="141"), {}, True),
    ],
)
def test_igrt003_scheme_and_setting(
    fields: dict[str, Any], options: dict[str, Any], fires: bool
) -> None:
    lines = [row("77387", 1, **fields), row("77385", 2, **fields)]
    assert flagged("IGRT003", *lines, **options) == ({("C1", 1)} if fires else set())


@pytest.mark.parametrize(
    ("dos", "fires"),
    [
        ("2014-12-31", False),
        ("2015-01-01", True),
        ("2025-12-31", True),
        ("2026-01-01", False),
    ],
)
def test_igrt003_era(dos: str, fires: bool) -> None:
    lines = [row("77387", 1, dos=dos), row("77385", 2, dos=dos)]
    assert flagged("IGRT003", *lines) == ({("C1", 1)} if fires else set())


# --------------------------------------------------------------------------------------------
# IGRT004 .. IGRT006
# --------------------------------------------------------------------------------------------


def test_igrt004() -> None:
    assert flagged("IGRT004", row("77387", modifiers="26"), row("77373", 2)) == {("C1", 1)}
    assert flagged("IGRT004", row("G6002"), row("77432", 2, claim="X")) == {("C1", 1)}
    assert flagged(
        "IGRT004", row("76950", dos="2014-06-01"), row("G0173", 2, dos="2014-06-01")
    ) == {("C1", 1)}
    assert flagged("IGRT004", row("77387"), row("77412", 2)) == set()
    assert flagged("IGRT004", row("77387"), row("77373", 2, dos="2020-03-03")) == set()


def hospital(code: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    """A hospital (UB-04) line: institutional, bill type 0131."""
    return row(code, n, claim="H", claim_type="institutional", bill_type="0131", **extra)


def physician(code: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    """A physician's professional claim line in the hospital (POS 22)."""
    fields = {"claim_type": "professional", "place_of_service": "22", "setting": "", **extra}
    return row(code, n, claim="P", **fields)


def test_igrt005() -> None:
    assert flagged("IGRT005", row("G6002"), row("G6017", 2), row("77412", 3)) == {
        ("C1", 1),
        ("C1", 2),
    }
    # PC and TC lines of one code are one method.
    assert flagged("IGRT005", row("77387", modifiers="26"), row("77387", 2, modifiers="TC")) == (
        set()
    )
    assert flagged("IGRT005", row("77387")) == set()


def test_igrt005_billing_sides() -> None:
    # The hospital's 77387 with the physician's method-26 is one method (split billing).
    for code in ("77014", "G6001", "G6002"):
        assert flagged("IGRT005", hospital("77387"), physician(code, modifiers="26")) == set()
    # Two specific methods across the sides are two.
    assert flagged("IGRT005", hospital("77014"), physician("G6002", modifiers="26")) == {
        ("H", 1),
        ("P", 1),
    }
    # Two codes on one side: that side's lines only.
    three = [
        hospital("77387"),
        physician("77014", modifiers="26"),
        physician("G6002", 2, modifiers="26"),
    ]
    assert flagged("IGRT005", *three) == {("P", 1), ("P", 2)}
    assert flagged("IGRT005", hospital("77387"), hospital("77014", 2)) == {("H", 1), ("H", 2)}
    # A physician's global line is on both sides: with the hospital's 77387 the technical side
    # holds two codes.
    assert flagged("IGRT005", hospital("77387"), physician("77014")) == {("H", 1), ("P", 1)}
    # 77439 is a method from catalog v2.
    late = "2026-02-02"
    assert (
        flagged(
            "IGRT005", hospital("77439", dos=late), physician("77387", dos=late, modifiers="26")
        )
        == set()
    )
    assert flagged(
        "IGRT005", hospital("77439", dos=late), physician("77014", dos=late, modifiers="26")
    ) == {("H", 1), ("P", 1)}


def test_igrt006() -> None:
    assert flagged("IGRT006", row("77387", units="2")) == {("C1", 1)}
    assert flagged("IGRT006", row("77387", units="1")) == set()
    assert flagged("IGRT006", row("77387", units="")) == set()
    # PC and not-PC are separate classes; TC and global are one class.
    assert flagged("IGRT006", row("77387", modifiers="26"), row("77387", 2, modifiers="TC")) == (
        set()
    )
    assert flagged("IGRT006", row("77387", modifiers="TC"), row("77387", 2, claim="E")) == {
        ("C1", 1),
        ("E", 2),
    }
    assert flagged("IGRT006", row("77387", modifiers="26"), row("77387", 2, modifiers="26")) == {
        ("C1", 1),
        ("C1", 2),
    }
    assert flagged("IGRT006", row("77387", units="0"), row("77387", 2)) == set()
    assert flagged("IGRT006", row("77387"), row("77014", 2)) == set()
    assert flagged("IGRT006", row("77412", units="3")) == set()


def test_igrt006_billing_sides() -> None:
    # A hospital line and the physician's -26 line are one of each part.
    assert flagged("IGRT006", hospital("77014"), physician("77014", modifiers="26")) == set()
    # A physician's global line and a -26 line bill the professional part twice.
    assert flagged("IGRT006", physician("77014"), physician("77014", 2, modifiers="26")) == {
        ("P", 1),
        ("P", 2),
    }
    # ... and a physician's global line beside the hospital's line bills the technical twice.
    assert flagged("IGRT006", hospital("77014"), physician("77014")) == {("H", 1), ("P", 1)}
    # A global line of an unknown claim type bills both parts.
    unknown = {"setting": "", "claim_type": ""}
    assert flagged("IGRT006", row("77014", **unknown), row("77014", 2, modifiers="26")) == {
        ("C1", 1),
        ("C1", 2),
    }


# --------------------------------------------------------------------------------------------
# IGRT007 / IGRT008 indications for IGRT with 3DCRT
# --------------------------------------------------------------------------------------------


def _3dcrt(
    dx: str | None, tags: str = "", dos: str = DOS, **options: Any
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(IGRT007, IGRT008) flags for an IGRT line with a 77412 line on its claim and day."""
    extra = {} if dx is None else {"diagnosis_codes": dx}
    lines = [
        row("77387", 1, dos=dos, **extra),
        row("77412", 2, dos=dos, treatment_indicators=tags, **extra),
    ]
    findings = reference_findings(lines, **options)
    return (
        {(c, n) for r, c, n in findings if r == "IGRT007"},
        {(c, n) for r, c, n in findings if r == "IGRT008"},
    )


HIT = {("C1", 1)}


@pytest.mark.parametrize(
    "dx",
    [
        "Z92.3",
        "C22.1",
        "C23",
        "C24.0",
        "C01",
        "C32.9",
        "C76.0",
        "C81.9A",
        "C84.A0",
        "C86.6",
        "C34.12",
        "C61",
        "C15.5",
        "C16.9",
        "C25.4",
        "C40.02",
        "C49.A1",
        "C48.0",
        "C61 C18.9",
        "c50.912,Z92.3",
        "C83",
        # catalog v2: a code shorter than the bounds meets the bounds cut to its length
        "C86.0",
        "C83.3",
        "C34",
        "C82",
    ],
)
def test_unconditional_indications_satisfy(dx: str) -> None:
    assert _3dcrt(dx) == (set(), set())


@pytest.mark.parametrize(
    "dx",
    [
        "C18.9",
        "Z85.46",
        "Z85.3",
        "C78.7",
        "C73",
        "C5",  # shorter than a category: compared as it stands
        "",
    ],
)
def test_no_indication_gives_igrt007(dx: str) -> None:
    assert _3dcrt(dx) == (HIT, set())


def test_no_diagnosis_column_means_neither_rule() -> None:
    assert _3dcrt(None) == (set(), set())
    assert _3dcrt("C18.9", has_diagnosis_column=False) == (set(), set())
    assert _3dcrt(None, has_diagnosis_column=True) == (HIT, set())


def test_claim_diagnoses_are_the_union_of_its_lines() -> None:
    lines = [row("77387", 1, diagnosis_codes=""), row("77412", 2, diagnosis_codes="C61")]
    assert flagged("IGRT007", *lines) == set()
    # Diagnoses on another claim of the same patient-day do not count.
    lines = [row("77387", 1, diagnosis_codes=""), row("77412", 1, claim="Z", diagnosis_codes="C61")]
    assert flagged("IGRT007", *lines) == HIT


@pytest.mark.parametrize(
    ("dx", "satisfying", "not_satisfying"),
    [
        ("C20", "belly_board", "prone"),  # J
        ("C19", "belly_board", "boost"),  # J
        ("C50.911", "boost,photon", "boost"),  # K (also L, N)
        ("C50.A1", "apbi", "photon"),  # L (also K, N)
        ("C50.912", "dibh", "boost"),  # M (also K, L, N)
        ("C50.A2", "dibh", "apbi_x"),  # M (also K, L, N)
        ("C50.911", "prone", "dibh"),  # N (C50.911 is right: no M)
        ("C67.2", "boost", "photon"),  # O
        ("D05.10", "boost,photon", "boost"),  # K, in situ (on from catalog v2)
        ("D05.11", "prone", "dibh"),  # N, in situ (new in catalog v2; right breast: no M)
        ("D05.12", "dibh", "boost"),  # M, in situ
    ],
)
def test_conditional_indications(dx: str, satisfying: str, not_satisfying: str) -> None:
    assert _3dcrt(dx, satisfying) == (set(), set())
    assert _3dcrt(dx, not_satisfying) == (set(), HIT)
    assert _3dcrt(dx, "") == (set(), HIT)


def test_a_short_breast_code_needs_documentation() -> None:
    assert _3dcrt("C50") == (set(), HIT)
    assert _3dcrt("D05", "dibh") == (set(), set())  # D05.02 cut to D05: M


def test_photon_delivery_line_is_ks_photon() -> None:
    dx = {"diagnosis_codes": "C50.911"}
    lines = [row("77387", 1, **dx), row("77412", 2, treatment_indicators="boost", **dx)]
    assert flagged("IGRT008", *lines) == HIT
    photon = {**lines[1], "beam_modality": "photon"}
    assert flagged("IGRT008", lines[0], photon) == set()
    # beam_modality photon on a line that is not delivery says nothing
    assert flagged("IGRT008", {**lines[0], "beam_modality": "photon"}, lines[1]) == HIT


def test_boost_satisfies_bladder_but_not_breast_alone() -> None:
    assert _3dcrt("C67.9 C50.911", "boost") == (set(), set())
    assert _3dcrt("C50.911", "BOOST; Photon") == (set(), set())


def test_an_unconditional_indication_beside_a_conditional_one_satisfies() -> None:
    assert _3dcrt("C20 C61") == (set(), set())


def test_tags_count_on_any_line_of_the_patient_day_only() -> None:
    base = [row("77387", 1, diagnosis_codes="C20"), row("77412", 2)]
    other_claim_same_day = row("99999", 1, claim="T", treatment_indicators="belly_board")
    assert flagged("IGRT008", *base, other_claim_same_day) == set()
    other_day = {**other_claim_same_day, "service_date": "2020-03-03"}
    assert flagged("IGRT008", *base, other_day) == HIT


@pytest.mark.parametrize(
    ("dx", "option", "letter_is_conditional"),
    [
        ("C78.7", "B-C78.7", False),
        ("C77.0", "C-C77.0", False),
        ("C73", "C-C73", False),
        ("C88.41", "D-C88.40", False),
        ("C78.01", "E-C78.00", False),
        ("C46.1", "P-C46.0", False),
        ("C21.1", "J-C21.0", True),
        ("D09.0", "O-D09.0", True),
    ],
)
def test_optional_rows_are_off_unless_enabled(
    dx: str, option: str, letter_is_conditional: bool
) -> None:
    assert _3dcrt(dx) == (HIT, set())
    expected = (set(), HIT) if letter_is_conditional else (set(), set())
    assert _3dcrt(dx, enabled_optional=[option]) == expected


def test_unknown_optional_row_is_an_error() -> None:
    with pytest.raises(ValueError):
        reference_findings([], enabled_optional=["Q-C99"])


def test_3dcrt_day_condition() -> None:
    dx = {"diagnosis_codes": "C18.9"}
    guidance = row("77387", 1, **dx)
    assert flagged("IGRT007", guidance, row("G6011", 2)) == HIT
    assert flagged("IGRT007", guidance) == set()
    assert flagged("IGRT007", guidance, row("77412", 2), row("77385", 3)) == set()
    assert flagged("IGRT007", guidance, row("77412", 2), row("77435", 3)) == set()
    # An electron line is neither non-IMRT nor IMRT delivery.
    assert flagged("IGRT007", guidance, row("77412", 2, beam_modality="electron")) == set()
    assert (
        flagged("IGRT007", guidance, row("77412", 2), row("77385", 3, beam_modality="Electron"))
        == HIT
    )
    # Only IGRT lines are flagged.
    assert flagged("IGRT007", row("77280", 1, **dx), row("77412", 2)) == set()


@pytest.mark.parametrize(
    ("dos", "fires"), [("2014-12-31", True), ("2025-12-31", True), ("2026-01-01", False)]
)
def test_igrt007_008_era(dos: str, fires: bool) -> None:
    assert _3dcrt("C18.9", dos=dos) == ((HIT if fires else set()), set())
    assert _3dcrt("C20", dos=dos) == (set(), (HIT if fires else set()))


# --------------------------------------------------------------------------------------------
# IGRT009 .. IGRT013
# --------------------------------------------------------------------------------------------


def test_igrt009() -> None:
    assert flagged("IGRT009", row("77387"), row("77401", 2)) == HIT
    assert (
        flagged("IGRT009", row("77387", dos="2026-02-02"), row("77437", 2, dos="2026-02-02")) == HIT
    )
    assert flagged("IGRT009", row("77387"), row("77412", 2, beam_modality="electron")) == HIT
    assert flagged("IGRT009", row("77387"), row("77401", 2), row("77412", 3)) == set()
    assert (
        flagged(
            "IGRT009",
            row("77387"),
            row("77412", 2, beam_modality="electron"),
            row("77385", 3, beam_modality="photon"),
        )
        == set()
    )
    assert flagged("IGRT009", row("77387"), row("77412", 2)) == set()
    # beam_modality electron on a non-delivery line is not electron delivery.
    assert flagged("IGRT009", row("77387", beam_modality="electron")) == set()


def test_igrt010() -> None:
    assert flagged("IGRT010", row("77014"), row("77770", 2)) == HIT
    assert flagged("IGRT010", row("77014"), row("77770", 2), row("77520", 3)) == set()
    # Here an electron line with an external-beam code counts as external beam.
    assert (
        flagged("IGRT010", row("77014"), row("77770", 2), row("77412", 3, beam_modality="electron"))
        == set()
    )
    assert flagged("IGRT010", row("77014"), row("77401", 2)) == set()


def test_igrt011() -> None:
    assert flagged("IGRT011", row("77370"), row("77387", 2, dos="2020-04-01")) == HIT
    assert flagged("IGRT011", row("77470"), row("77387", 1, claim="Y")) == HIT
    assert flagged("IGRT011", row("77370"), row("77387", 1, claim="Y", dos="2020-04-01")) == (set())
    assert flagged("IGRT011", row("77370"), row("77412", 2)) == set()


def test_igrt012() -> None:
    assert flagged("IGRT012", row("77387", modifiers="TC")) == HIT
    assert flagged("IGRT012", row("G6001")) == HIT
    assert flagged("IGRT012", row("77387", modifiers="26")) == set()
    assert flagged("IGRT012", row("77387"), row("77401", 2)) == set()
    assert flagged("IGRT012", row("77387"), row("77790", 2, claim="B")) == set()
    assert flagged("IGRT012", row("77387"), row("77412", 2, beam_modality="electron")) == set()
    # SBRT/SRS management codes are not delivery.
    assert flagged("IGRT012", row("77387"), row("77432", 2)) == HIT
    # G0173/G0251 are the pre-2015 linac SRS deliveries (Interpretation 4).
    old = "2014-06-01"
    assert flagged("IGRT012", row("76950", dos=old), row("G0251", 2, dos=old)) == set()
    assert flagged("IGRT010", row("76950", dos=old), row("77761", 2, dos=old)) == HIT
    assert (
        flagged(
            "IGRT010", row("76950", dos=old), row("77761", 2, dos=old), row("G0173", 3, dos=old)
        )
        == set()
    )
    assert flagged("IGRT012", row("77387"), row("77412", 2, dos="2020-03-03")) == HIT


@pytest.mark.parametrize(
    ("code", "modifiers", "dos", "fires"),
    [
        ("G6017", "26", DOS, True),
        ("G6017", "TC", DOS, True),
        ("G6017", "59", DOS, False),
        ("G6017", "", DOS, False),
        ("77412", "26", DOS, True),
        ("77412", "26", "2010-01-01", True),
        ("77412", "TC", DOS, True),  # catalog v2: neither 26 nor TC
        ("77412", "59", DOS, False),
        ("77371", "26", DOS, True),
        ("77372", "TC", DOS, True),
        ("G6016", "26", DOS, True),
        ("77373", "26", DOS, True),
        ("77401", "26", DOS, True),
        ("77014", "26", DOS, False),
        ("G6017", "26", "2030-01-01", True),
        ("77387", "", "2025-12-31", False),
        ("77387", "", "2026-01-01", True),
        ("77387", "TC", "2026-01-01", True),
        ("77387", "26", "2026-01-01", False),
        ("77387", "TC 26", "2026-01-01", False),
    ],
)
def test_igrt013(code: str, modifiers: str, dos: str, fires: bool) -> None:
    line = row(code, dos=dos, modifiers=modifiers)
    assert flagged("IGRT013", line) == (HIT if fires else set())


@pytest.mark.parametrize(
    ("code", "modifiers", "place", "fires"),
    [
        ("77014", "", "22", True),
        ("77014", "TC", "19", True),
        ("77014", "26", "22", False),
        ("G6001", "", "22", True),
        ("G6002", "59", "19", True),
        ("76950", "", "22", True),
        ("77421", "26", "22", False),
        ("G6017", "", "22", True),
        ("G6017", "26", "22", True),
        ("0197T", "", "19", True),
        ("77014", "", "11", False),
        ("G6017", "", "11", False),
        ("77387", "", "22", False),
    ],
)
def test_igrt014(code: str, modifiers: str, place: str, fires: bool) -> None:
    line = physician(code, modifiers=modifiers, place_of_service=place)
    assert flagged("IGRT014", line) == ({("P", 1)} if fires else set())


def test_igrt014_needs_a_professional_claim() -> None:
    assert flagged("IGRT014", hospital("77014")) == set()
    no_claim_type = row("77014", place_of_service="22", setting="")
    assert flagged("IGRT014", no_claim_type) == HIT  # a place of service means professional
    assert flagged("IGRT014", {**no_claim_type, "bill_type": "0131"}) == set()


def test_age_is_the_members() -> None:
    child = physician("77014", modifiers="26", patient_birth_date="2010-01-01")
    bare = hospital("77014", 2, units="2")  # no birth date: IGRT006 for an adult
    assert flagged("IGRT006", bare) == {("H", 2)}
    assert flagged("IGRT006", bare, child) == set()
    # Birth dates that disagree tell nothing: the bare line is in scope.
    other = physician("77014", 3, modifiers="26", patient_birth_date="1950-01-01")
    assert flagged("IGRT006", bare, child, other) == {("H", 2)}
    # The line's own age column wins over the member's birth date.
    assert flagged("IGRT006", {**bare, "patient_age": "70"}, child) == {("H", 2)}
    # Another member's birth date does not count.
    assert flagged("IGRT006", bare, {**child, "patient_id": "P2", "claim_id": "Q"}) == {("H", 2)}


def test_whole_run_result_shape() -> None:
    findings = reference_findings([row("G6001", setting="OPPS", units="2")])
    assert findings == {("IGRT002", "C1", 1), ("IGRT006", "C1", 1), ("IGRT012", "C1", 1)}
