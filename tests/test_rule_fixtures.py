"""Every rule's pass/fail cases (tests/fixtures/rules/IGRTnnn.toml) through the real pipeline."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from igrt_edits.config import parse_config
from igrt_edits.run.check import run_check

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _cases():
    for path in sorted(FIXTURES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in data["case"]:
            yield pytest.param(data["rule"], case, id=f"{data['rule']}:{case['name']}")


def test_every_rule_has_fixtures(catalog):
    covered = {p.stem for p in FIXTURES.glob("*.toml")}
    assert covered == set(catalog.rules)


def test_every_rule_has_failing_and_passing_cases():
    for path in sorted(FIXTURES.glob("*.toml")):
        cases = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
        assert any(c["expect"] for c in cases), f"{path.name} has no failing case"
        assert any(not c["expect"] for c in cases), f"{path.name} has no passing case"


@pytest.mark.parametrize(("rule_id", "case"), list(_cases()))
def test_rule_case(tmp_path, catalog, rule_id, case):
    files = case.get("files") or {"lines.csv": case["lines"]}
    for name, text in files.items():
        (tmp_path / name).write_text(text.lstrip("\n"), encoding="utf-8")
    config = parse_config(case.get("config", {}), f"case {case['name']}", tmp_path)
    config = config.override(select=(rule_id,))
    _, _, result = run_check([str(tmp_path / n) for n in files], config, catalog)
    assert result.totals()["rows_rejected"] == 0, result.rejects.to_pylist()
    findings = result.findings[result.findings["rule_id"] == rule_id]
    flagged = {
        f"{c}:{n}" for c, n in zip(findings["claim_id"], findings["line_number"], strict=True)
    }
    assert flagged == set(case["expect"])
    for text in case.get("message_contains", []):
        for message in findings["message"]:
            assert text in message
