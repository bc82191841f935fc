"""The edit data in edits/: checked against the sourced reference, and validated on load."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from igrt_edits.catalog.load import default_edits_dir, load_catalog
from igrt_edits.errors import EditDataError

from conftest import shared_path

# Which reference categories each code set may draw from.
SET_CATEGORIES = {
    "igrt": {"igrt_guidance", "igrt_guidance_deleted"},
    "imrt_delivery": {"imrt_delivery", "imrt_delivery_deleted"},
    "nonimrt_delivery": {"nonimrt_delivery"},
    "sbrt_srs": {
        "sbrt_delivery",
        "sbrt_management",
        "srs_sbrt_management",
        "srs_delivery",
        "srs_management",
        "srs_neurosurgical",
        "srs_delivery_deleted",
    },
    "sbrt_srs_delivery": {"sbrt_delivery", "srs_delivery", "srs_delivery_deleted"},
    "brachytherapy_delivery": {"brachytherapy"},
    "superficial_delivery": {"superficial_orthovoltage"},
    "proton_delivery": {"proton_delivery"},
    "other_external_beam_delivery": {"other_delivery"},
    "physics_consult": {"physics_consult", "special_treatment_procedure"},
}
# Codes the edit catalog places in a set outside their reference category: 77439 (ultrasound
# image guidance for surface RT, filed under the surface RT family) is IGRT from catalog v2.
SET_EXTRAS = {"igrt": {"77439"}}


def _reference_codes() -> dict[str, dict[str, str]]:
    path = shared_path("reference", "igrt_codes.csv")
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None


@pytest.mark.parametrize("name", sorted(SET_CATEGORIES))
def test_code_sets_match_reference_categories(catalog, name):
    reference = _reference_codes()
    for code in catalog.data.sets[name]:
        assert code in reference, f"{name}: {code} is not in igrt_codes.csv"
        if code in SET_EXTRAS.get(name, ()):
            continue
        assert reference[code]["category"] in SET_CATEGORIES[name], (name, code)


def test_technical_only_codes_are_tc_only_in_the_reference(catalog):
    reference = _reference_codes()
    for code in catalog.data.sets["technical_only"]:
        status = reference[code]["mpfs_status"]
        assert "PCTC 3" in status or "TC-only" in status, (code, status)


def test_no_split_code_has_pctc_zero(catalog):
    assert "PCTC 0" in _reference_codes()["G6017"]["mpfs_status"]


def test_validity_windows_agree_with_verified_reference_dates(catalog):
    reference = _reference_codes()
    checked = 0
    for window in catalog.data.validity:
        row = reference[window.code]
        confidence = row["confidence"]
        if not confidence.startswith("verified"):
            continue
        start, end = _date(row["effective_from"]), _date(row["effective_to"])
        if start and window.window.start and "date likely" not in confidence:
            assert window.window.start == start, window.code
            checked += 1
        if end and window.window.end and "end date likely" not in confidence:
            assert window.window.end == end, window.code
            checked += 1
    assert checked >= 10


def test_every_reference_dx_range_is_in_the_indication_table(catalog):
    path = shared_path("reference", "igrt_dx_ranges.csv")
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["indication_letter"] != "HX"]
    ours = {(r.letter, r.start, r.end): r for r in catalog.data.indications.ranges}
    for row in rows:
        key = (
            row["indication_letter"],
            row["icd10_from"].replace(".", ""),
            row["icd10_to"].replace(".", ""),
        )
        assert key in ours, f"missing {key}"
        optional = "optional" in row["indication"] or "excluded by default" in row["indication"]
        assert ours[key].optional == optional, key
    assert len(ours) == len(rows)


def test_history_codes_are_not_indications(catalog):
    bits = catalog.data.indications.letter_bits(["Z853", "Z8546", "Z923", "C61"])
    assert list(bits[:2]) == [0, 0]
    assert bits[2] and bits[3]


# --- validation on load --------------------------------------------------------------------------


def _copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "edits"
    for source in default_edits_dir().rglob("*.toml"):
        destination = target / source.relative_to(default_edits_dir())
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "rules/IGRT004.toml",
            'when_any = ["sbrt_srs"]',
            'when_any = ["sbrt_srsx"]',
            r"IGRT004.toml: when_any: unknown code set or class 'sbrt_srsx'",
        ),
        (
            "rules/IGRT004.toml",
            'carc = "97"\n',
            "",
            r"IGRT004.toml: carc: missing \(required\)",
        ),
        (
            "rules/IGRT004.toml",
            'severity = "error"',
            'severity = "fatal"',
            r"IGRT004.toml: severity: 'fatal' is not one of error, warning, info",
        ),
        (
            "rules/IGRT004.toml",
            'scope = "patient_day"',
            'scope = "patient_day"\nscop = "claim"',
            r"IGRT004.toml: scop: unknown key",
        ),
        (
            "rules/IGRT004.toml",
            "{code} on {date}",
            "{code} on {day}",
            r"IGRT004.toml: message: unknown field \{day\}",
        ),
        (
            "rules/IGRT002.toml",
            "effective = { from = 2015-01-01, through = 2025-12-31 }",
            "effective = { from = 2025-01-01, through = 2015-12-31 }",
            r"IGRT002.toml \[effective\]: from: 2025-01-01 is after through 2015-12-31",
        ),
        (
            "validity.toml",
            'codes = ["77387"]\nfrom = 2015-01-01',
            'codes = ["77387"]\nfrom = 2014-01-01\nthrough = 2014-12-31\n\n[[code]]\ncodes = ["77387"]\nfrom = 2014-06-01',
            r"validity windows of 77387 overlap",
        ),
        (
            "validity.toml",
            'codes = ["77387"]\nfrom = 2015-01-01',
            'codes = ["77387"]\nfrom = 2016-01-01\nthrough = 2015-01-01',
            r"validity.toml code\[\d+\]: from: 2016-01-01 is after through 2015-01-01",
        ),
        (
            "codesets.toml",
            '"@imrt_delivery", "@nonimrt_delivery"',
            '"@imrt", "@nonimrt_delivery"',
            r"codesets.toml \[sets\]: external_beam_delivery: unknown code set 'imrt'",
        ),
        (
            "codesets.toml",
            'no_pc_tc_split = ["G6017"]',
            'no_pc_tc_split = ["G601"]',
            r"no_pc_tc_split: 'G601' is not a 5-character code",
        ),
        (
            "indications.toml",
            'from = "C22.0"\nto = "C22.9"',
            'from = "C22.9"\nto = "C22.0"',
            r"from: C22.9 sorts after to C22.0",
        ),
        (
            "rules/IGRT004.toml",
            'id = "IGRT004"',
            'id = "IGRT004"\nid2 = [',
            r"IGRT004.toml: not valid TOML",
        ),
    ],
)
def test_bad_edit_data_is_reported_with_file_and_key(tmp_path, file, old, new, expected):
    edits = _copy_catalog(tmp_path)
    _edit(edits / file, old, new)
    with pytest.raises(EditDataError, match=expected):
        load_catalog(edits)


def test_duplicate_rule_ids_are_rejected(tmp_path):
    edits = _copy_catalog(tmp_path)
    extra = tmp_path / "mine.toml"
    extra.write_text(
        (edits / "rules" / "IGRT004.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(EditDataError, match="IGRT004 is already defined"):
        load_catalog(edits, [extra])


def test_a_new_rule_of_a_known_kind_is_one_data_file(tmp_path):
    rule = tmp_path / "ACME001.toml"
    rule.write_text(
        """
id = "ACME001"
name = "port-film-with-igrt"
severity = "info"
carc = "97"
summary = "Port films billed on an IGRT day"
policy_ref = "Acme payment policy 12"
kind = "co_occurrence"
target = { codes = "port_film" }
scope = "patient_day"
when_any = ["igrt"]
message = "{code} on {date} with IGRT {related_codes} ({related})"

[sets]

[explanation]
what = "77417 on a day with IGRT."
why = "Verification imaging is part of IGRT."
fix = "Remove 77417."
flagged_example = "77417 and 77014 on one day"
clean_example = "77417 on a day without IGRT"
""".replace("[sets]\n", ""),
        encoding="utf-8",
    )
    sets = tmp_path / "acme-sets.toml"
    sets.write_text('[sets]\nport_film = ["77417"]\n', encoding="utf-8")
    catalog = load_catalog(extra=[sets, rule])
    assert "ACME001" in catalog.rules
    assert catalog.rule("acme001").kind.target.line_class.codes == frozenset({"77417"})
