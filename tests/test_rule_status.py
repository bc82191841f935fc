"""A rule's status gates its selection as ruff's does.

stable: selected by its id or a prefix. preview: runs only when selected by its id, or with
`--preview` (then prefixes select it too). deprecated: runs as a stable rule, warns when
selected by its id, and with `--preview` only runs when selected by its id.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from igrt_edits.catalog.load import load_catalog
from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.run.check import build_ruleset

LINES = """claim_id,line_number,patient_id,service_date,procedure_code,modifiers,units
P1,1,M01,2026-01-26,77437,,1
P2,1,M01,2026-01-26,77387,26,1
"""


def _rule(rule_id: str, status: str) -> str:
    return f'''
id = "{rule_id}"
name = "acme-{status}-example"
severity = "warning"
carc = "234"
summary = "Superficial radiation on a day with image guidance ({status} example)"
policy_ref = "An example payer policy"
kind = "co_occurrence"
target = {{ codes = "superficial_delivery" }}
scope = "patient_day"
when_any = ["igrt"]
status = "{status}"
message = "{{code}} on {{date}} with image guidance ({{related}})"

[explanation]
what = "Superficial delivery on a day with IGRT."
why = "An example."
fix = "An example."
flagged_example = "77437 and 77387-26 on one day"
clean_example = "77437 alone"
'''


@pytest.fixture
def edits(tmp_path: Path) -> Path:
    directory = tmp_path / "edits"
    directory.mkdir()
    for rule_id, status in (("ACME101", "preview"), ("ACME102", "deprecated")):
        (directory / f"{rule_id}.toml").write_text(_rule(rule_id, status), encoding="utf-8")
    (tmp_path / "lines.csv").write_text(LINES, encoding="utf-8")
    (tmp_path / "igrt-edits.toml").write_text(
        f"[rules]\nextra_edits = [{json.dumps(str(directory))}]\n", encoding="utf-8"
    )
    return directory


@pytest.mark.parametrize(
    ("select", "preview", "applied"),
    [
        ((), False, {"ACME102"}),
        (("ACME",), False, {"ACME102"}),
        (("ACME101",), False, {"ACME101"}),
        ((), True, {"ACME101"}),
        (("ACME",), True, {"ACME101"}),
        (("ACME102",), True, {"ACME102"}),
        (("ACME101", "ACME102"), False, {"ACME101", "ACME102"}),
    ],
)
def test_status_gates_selection(edits, select, preview, applied):
    config = Config(extra_edits=(edits,), select=select, preview=preview)
    ruleset = build_ruleset(load_catalog(extra=[edits]), config)
    assert {r.id for r in ruleset.rules if r.id.startswith("ACME")} == applied
    stable = {r.id for r in ruleset.rules if r.id.startswith("IGRT")}
    assert stable == (set() if select else set(load_catalog().rules))


def _check(tmp_path: Path, *args: str):
    config = str(tmp_path / "igrt-edits.toml")
    out = tmp_path / "out.json"
    command = ["check", str(tmp_path / "lines.csv"), "--config", config, "-o", str(out), *args]
    result = CliRunner().invoke(main, command)
    return result, {f["rule_id"] for f in json.loads(out.read_text("utf-8"))["findings"]}


def test_preview_rule_runs_with_the_option_or_its_id(edits, tmp_path):
    assert "ACME101" not in _check(tmp_path)[1]
    assert "ACME101" in _check(tmp_path, "--preview")[1]
    assert "ACME101" in _check(tmp_path, "--select", "ACME101")[1]


def test_deprecated_rule_warns_when_selected_by_its_id(edits, tmp_path):
    plain, found = _check(tmp_path)
    assert "ACME102" in found and "deprecated" not in plain.output
    named, found = _check(tmp_path, "--select", "ACME102")
    assert "ACME102" in found
    assert "rule ACME102 is deprecated" in named.output


def test_preview_is_a_configuration_key(edits, tmp_path):
    config = tmp_path / "igrt-edits.toml"
    config.write_text(config.read_text("utf-8") + "preview = true\n", encoding="utf-8")
    assert "ACME101" in _check(tmp_path)[1]


def test_rules_command_shows_status_and_what_preview_turns_on(edits, tmp_path):
    config = str(tmp_path / "igrt-edits.toml")
    listed = CliRunner().invoke(main, ["rules", "--config", config])
    row = next(line for line in listed.output.splitlines() if "ACME101" in line)
    assert "off (preview)" in row
    listed = CliRunner().invoke(main, ["rules", "--config", config, "--preview"])
    row = next(line for line in listed.output.splitlines() if "ACME101" in line)
    assert "warning (preview)" in row
