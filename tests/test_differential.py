"""Differential test: the engine and the independent reference implementation agree exactly.

A seeded synthetic extract of tens of thousands of lines (igrt_edits.synth.generate: whole courses
of radiation therapy, with violations of every rule injected) is linted by the engine, from
Parquet and from CSV, in memory and streaming; tests/reference_impl.py, which shares no code or
data with the package, computes the findings from the same rows. Both must flag exactly the same
(rule_id, claim_id, line_number) set, and the extract must make every rule fire.

Size: IGRT_DIFFERENTIAL_LINES (default 40,000); seed: IGRT_DIFFERENTIAL_SEED.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from igrt_edits.catalog.load import load_catalog
from igrt_edits.config import Config
from igrt_edits.run.check import run_check
from igrt_edits.synth.generate import RULE_IDS, generate_claims, write_extract

from reference_impl import RULES, reference_findings

LINES = int(os.environ.get("IGRT_DIFFERENTIAL_LINES", "40000"))
SEED = int(os.environ.get("IGRT_DIFFERENTIAL_SEED", "20260101"))

Finding = tuple[str, str, int]


@pytest.fixture(scope="module")
def expected() -> set[Finding]:
    """The reference implementation's findings on the generated rows."""
    return reference_findings(generate_claims(LINES, SEED).to_pylist())


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("differential")
    paths = {fmt: directory / f"extract.{fmt}" for fmt in ("parquet", "csv")}
    for path in paths.values():
        assert write_extract(path, LINES, SEED) == LINES
    return paths


def test_the_generated_extract_fires_every_rule(expected: set[Finding]) -> None:
    assert {rule for rule, _, _ in expected} == set(RULE_IDS) == set(RULES)


def test_the_reference_implements_rules_of_the_catalog(catalog) -> None:
    assert set(RULES) <= set(catalog.rules)


@pytest.mark.parametrize(("fmt", "stream"), [("parquet", False), ("csv", False), ("parquet", True)])
def test_engine_agrees_with_the_reference(
    fmt: str, stream: bool, expected: set[Finding], extracts: dict[str, Path]
) -> None:
    _, _, result = run_check([str(extracts[fmt])], Config(), load_catalog(), stream=stream)
    assert result.totals()["rows_read"] == LINES
    assert result.totals()["rows_rejected"] == 0
    frame = result.findings
    found = set(zip(frame["rule_id"], frame["claim_id"], frame["line_number"], strict=True))
    assert len(found) == len(frame)  # one finding per flagged line per rule
    found = {f for f in found if f[0] in RULES}  # the rules the reference implements
    missing, extra = sorted(expected - found), sorted(found - expected)
    assert (missing[:10], extra[:10]) == ([], [])
    assert found == expected
