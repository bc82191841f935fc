"""The modules that map the data contract agree with it (igrt_edits/contract.py)."""

from __future__ import annotations

from igrt_edits import contract
from igrt_edits.ingest import columns
from igrt_edits.ingest.context import CONTEXT_SCHEMA, ContextOptions, with_context
from igrt_edits.ingest.normalize import normalize_extract
from igrt_edits.ingest.readers import iter_extracts, plan_read
from igrt_edits.rules.findings import empty_findings, order_findings
from igrt_edits.rules.lines import ENGINE_COLUMNS
from igrt_edits.synth.generate import SCHEMA

from conftest import REPO

DEMO = REPO / "sample_claims" / "radonc_demo.csv"


def test_header_matching_knows_every_input_column_and_no_other():
    assert tuple(columns.ALIASES) == contract.INPUT_COLUMNS
    assert set(columns.FAMILIES) == set(contract.FAMILY_COLUMNS)
    assert set(contract.REQUIRED_COLUMNS) <= set(contract.INPUT_COLUMNS)


def test_a_checked_line_has_the_contract_fields_and_its_context():
    plan = plan_read(DEMO)
    extract = next(iter_extracts(plan, 1_000))
    part = normalize_extract(extract, 0)
    lines = with_context(part.lines, ContextOptions(), part.has_diagnosis)
    names = {n.split(".")[0] for n in lines.column_names}
    assert names == set(contract.LINE_SCHEMA.names) | set(CONTEXT_SCHEMA.names)


def test_the_engine_reads_contract_fields():
    known = {*contract.LINE_SCHEMA.names, *CONTEXT_SCHEMA.names, "source_file", "source_row"}
    assert set(ENGINE_COLUMNS) <= known


def test_generated_extracts_use_contract_columns_in_contract_order():
    names = [n for n in contract.INPUT_COLUMNS if n in SCHEMA.names]
    assert SCHEMA.names == names


def test_findings_frames_have_the_contract_fields():
    assert tuple(empty_findings().columns) == contract.FINDING_FIELDS
    assert tuple(order_findings(empty_findings()).columns) == contract.FINDING_FIELDS
    assert set(contract.FINDINGS_ORDER) <= set(contract.FINDING_FIELDS)


def test_severities_rank_from_info_to_error():
    assert sorted(contract.SEVERITIES, key=contract.SEVERITY_RANK.__getitem__) == [
        "info",
        "warning",
        "error",
    ]
    assert contract.FAIL_ON[-1] == "never"
