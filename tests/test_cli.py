"""The commands as a user runs them: rules, explain, check's exit status and config discovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from igrt_edits.cli import main

SAMPLE = str(Path(__file__).resolve().parent.parent / "sample_claims" / "radonc_demo.csv")


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, list(args))


def test_rules_lists_every_rule(catalog):
    result = invoke("rules")
    assert result.exit_code == 0
    for rule_id in catalog.rules:
        assert rule_id in result.output


def test_explain_every_rule(catalog):
    """Every rule of the catalog (the list comes from the catalog, so a new rule is covered and
    a broken edit file fails this test, not the collection of the suite)."""
    for rule in catalog.rules.values():
        result = invoke("explain", rule.id.lower())
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        for part in ("What it checks", "Why it is wrong", "How to fix", "Example (flagged)"):
            assert part in text, rule.id
        assert rule.name in text
        assert f"CARC {rule.carc}" in text
        assert " ".join(rule.policy_ref.split()) in text


def test_rules_names_the_catalog_version():
    result = invoke("rules")
    assert "catalog version 2" in " ".join(result.output.split())


def test_explain_igrt005_speaks_of_billing_sides():
    """An analyst reads why the hospital's 77387 with the physician's 77014-26 is one method."""
    text = " ".join(invoke("explain", "IGRT005").output.split())
    for words in (
        "the hospital bills the technical part",
        "professional side",
        "technical side",
        "77387 names no method of its own",
        "77014-26",
        "is one method",
    ):
        assert words in text


def test_explain_unknown_rule_exits_2():
    result = invoke("explain", "IGRT999")
    assert result.exit_code == 2
    assert "unknown rule 'IGRT999'" in result.output


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ([], 1),
        (["--fail-on", "never"], 0),
        (["--select", "IGRT006,IGRT010"], 0),
        (["--select", "IGRT006", "--fail-on", "warning"], 1),
        (["--ignore", "IGRT0"], 0),
    ],
)
def test_check_exit_status(args, status):
    result = invoke("check", SAMPLE, "--format", "json", *args)
    assert result.exit_code == status, result.output


def test_config_is_found_upward_and_command_line_wins(tmp_path):
    (tmp_path / "igrt-edits.toml").write_text(
        '[rules]\nselect = ["IGRT006"]\n[output]\nfail_on = "warning"\n'
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    runner = CliRunner()
    import os

    cwd = os.getcwd()
    os.chdir(nested)
    try:
        found = runner.invoke(main, ["check", SAMPLE, "--format", "json"])
        overridden = runner.invoke(
            main, ["check", SAMPLE, "--format", "json", "--fail-on", "error"]
        )
    finally:
        os.chdir(cwd)
    assert found.exit_code == 1
    assert '"IGRT006": 1' in found.output
    assert overridden.exit_code == 0


def test_bad_config_exits_2_naming_file_and_key(tmp_path):
    config = tmp_path / "igrt-edits.toml"
    config.write_text("[rules]\nselectt = ['IGRT']\n")
    result = invoke("check", SAMPLE, "--config", str(config))
    assert result.exit_code == 2
    assert f"{config} [rules]: selectt: unknown key" in result.output


def test_pyproject_section_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.igrt-edits.rules]\nignore = ["IGRT"]\n')
    result = invoke(
        "check", SAMPLE, "--config", str(tmp_path / "pyproject.toml"), "--format", "json"
    )
    assert result.exit_code == 0
    assert '"findings": []' in result.output
