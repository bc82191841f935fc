"""Every rule's pass/fail cases (tests/fixtures/rules/IGRTnnn.toml) through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from rule_cases import read_cases, run_case

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _cases():
    """One test per case; a fixture file that cannot be read is one failing test, so a broken
    file fails the suite without stopping its collection."""
    for path in sorted(FIXTURES.glob("*.toml")):
        try:
            rule, cases = read_cases(path)
        except ValueError as error:
            yield pytest.param(path.stem, {"error": str(error)}, id=f"{path.stem}:unreadable")
            continue
        for case in cases:
            yield pytest.param(rule, case, id=f"{rule}:{case['name']}")


def test_every_rule_has_fixtures(catalog):
    covered = {p.stem for p in FIXTURES.glob("*.toml")}
    assert covered == set(catalog.rules)


def test_every_rule_has_failing_and_passing_cases():
    for path in sorted(FIXTURES.glob("*.toml")):
        _, cases = read_cases(path)
        assert any(c["expect"] for c in cases), f"{path.name} has no failing case"
        assert any(not c["expect"] for c in cases), f"{path.name} has no passing case"


@pytest.mark.parametrize(("rule_id", "case"), list(_cases()))
def test_rule_case(tmp_path, catalog, rule_id, case):
    assert "error" not in case, case.get("error")
    assert run_case(tmp_path, catalog, rule_id, case) == set(case["expect"])
