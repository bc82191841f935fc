"""A new rule of a known kind is one edit file and one fixture file, and nothing else.

The rule ACME001 (an example payer's edit) and its fixture live in a temporary directory, added
through `extra_edits` as a user adds their own rules; the shipped catalog and the rest of the
suite never see it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from igrt_edits.catalog.load import load_catalog
from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.run.check import run_check

from rule_cases import read_cases, run_case

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "sample_claims" / "radonc_demo.csv"
EXPECTED = json.loads((REPO / "sample_claims" / "radonc_demo.expected.json").read_text("utf-8"))

RULE = '''
id = "ACME001"
name = "acme-superficial-with-image-guidance"
severity = "warning"
carc = "234"
summary = "Superficial radiation on a day with image guidance (Acme: review as IG-SRT)"
policy_ref = "Acme Health payment policy RT-12 (an example payer, not a real policy)"
kind = "co_occurrence"
target = { codes = "superficial_delivery" }
scope = "patient_day"
when_any = ["igrt"]
message = "{code} on {date} is superficial radiation on a day with image guidance {related_codes} ({related}); Acme reviews it as image-guided superficial therapy"

[explanation]
what = "Every superficial delivery line (77401, 77437, 77438) on a patient-day with an IGRT line."
why = "Acme pays image-guided superficial therapy as one service, not as superficial plus IGRT."
fix = "Bill the superficial delivery alone, or Acme's image-guided superficial code."
flagged_example = "claim P1, 2026-01-26: 77437 and 76950"
clean_example = "claim P1, 2026-01-26: 77437 only"
'''

FIXTURE = '''
rule = "ACME001"

[[case]]
name = "superficial delivery and image guidance on one patient-day, across claims"
files = { "office.csv" = """
claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,claim_type,place_of_service
P1,1,M01,2026-01-26,77437,,1,professional,11
P3,1,M03,2026-01-26,77437,,1,professional,11
""", "guidance.csv" = """
claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,claim_type,place_of_service
P2,1,M01,01/26/2026,77387,26,1,professional,11
P4,1,M03,2026-01-27,77387,26,1,professional,11
""" }
expect = ["P1:1"]
message_contains = ["77437", "77387"]

[[case]]
name = "superficial delivery alone"
lines = """
claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units,claim_type,place_of_service
P5,1,M05,2026-02-02,77401,,1,professional,11
P5,2,M05,2026-02-02,77280,,1,professional,11
"""
expect = []
'''


@pytest.fixture
def acme(tmp_path: Path) -> tuple[Path, Path]:
    """(edits directory, fixture file) of the new rule."""
    edits = tmp_path / "payer-edits"
    edits.mkdir()
    (edits / "ACME001.toml").write_text(RULE.lstrip(), encoding="utf-8")
    fixture = tmp_path / "ACME001.toml"
    fixture.write_text(FIXTURE.lstrip(), encoding="utf-8")
    return edits, fixture


def test_the_fixture_passes_through_the_fixture_runner(acme, tmp_path):
    edits, fixture = acme
    catalog = load_catalog(extra=[edits])
    rule_id, cases = read_cases(fixture)
    for number, case in enumerate(cases):
        work = tmp_path / f"case{number}"
        work.mkdir()
        assert run_case(work, catalog, rule_id, case) == set(case["expect"]), case["name"]


def test_real_lines_get_the_new_findings_and_keep_the_others(acme):
    edits, _ = acme
    _, ruleset, result = run_check([str(DEMO)], Config(extra_edits=(edits,)))
    assert "ACME001" in [r.id for r in ruleset.rules]
    findings = result.findings
    new = findings[findings["rule_id"] == "ACME001"]
    assert [(c, int(n)) for c, n in zip(new["claim_id"], new["line_number"], strict=True)] == [
        ("PRO2026012601596", 1)
    ]
    assert list(new["related_lines"].iloc[0]) == ["PRO2026012601596:2"]
    assert new["message"].iloc[0].startswith("77437 on 2026-01-26 is superficial radiation")
    others = findings[findings["rule_id"] != "ACME001"]
    keys = (others["rule_id"], others["claim_id"], others["line_number"].astype(int))
    got = sorted(zip(*keys, strict=True))
    assert got == sorted((e["rule_id"], e["claim_id"], e["line_number"]) for e in EXPECTED)


def test_the_commands_know_the_new_rule(acme, tmp_path):
    edits, _ = acme
    config = tmp_path / "igrt-edits.toml"
    config.write_text(f"[rules]\nextra_edits = [{json.dumps(str(edits))}]\n", encoding="utf-8")
    runner = CliRunner()
    listed = runner.invoke(main, ["rules", "--config", str(config)])
    assert "ACME001" in listed.output
    explained = runner.invoke(main, ["explain", "acme001", "--config", str(config)])
    assert explained.exit_code == 0, explained.output
    assert "acme-superficial-with-image-guidance" in explained.output
    sarif = tmp_path / "findings.sarif"
    args = ["check", str(DEMO), "--config", str(config), "-o", str(sarif), "-q"]
    assert runner.invoke(main, args).exit_code == 1
    run = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]
    assert "ACME001" in [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "ACME001" in {r["ruleId"] for r in run["results"]}


def test_the_shipped_catalog_does_not_know_it():
    assert "ACME001" not in load_catalog().rules
    assert not tomllib.loads(RULE)["id"].startswith("IGRT")
