"""The bundled demo extract produces exactly the findings kept beside it, from CSV and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from igrt_edits.config import Config
from igrt_edits.run.check import run_check

SAMPLES = Path(__file__).resolve().parent.parent / "sample_claims"
EXPECTED = json.loads((SAMPLES / "radonc_demo.expected.json").read_text(encoding="utf-8"))


def _keys(findings):
    return sorted(
        zip(
            findings["rule_id"],
            findings["claim_id"],
            findings["line_number"].astype(int),
            strict=True,
        )
    )


@pytest.mark.parametrize("name", ["radonc_demo.csv", "radonc_demo.parquet"])
def test_demo_findings_match_expected(name, catalog):
    _, _, result = run_check([str(SAMPLES / name)], Config(), catalog)
    expected = sorted((e["rule_id"], e["claim_id"], e["line_number"]) for e in EXPECTED)
    assert _keys(result.findings) == expected


def test_demo_findings_name_rules_of_the_catalog(catalog):
    """The kept findings name catalog rules (a new rule need not fire on the demo)."""
    assert {e["rule_id"] for e in EXPECTED} <= set(catalog.rules)


def test_demo_accounts_for_every_row(catalog):
    _, _, result = run_check([str(SAMPLES / "radonc_demo.csv")], Config(), catalog)
    totals = result.totals()
    assert totals["rows_read"] == 436
    assert totals["rows_rejected"] == 0
    # the pediatric patient, facility lines without a birth date included (age is the member's)
    assert totals["rows_out_of_scope"] == 54
    assert totals["rows_read"] == (
        totals["rows_checked"] + totals["rows_rejected"] + totals["rows_out_of_scope"]
    )
