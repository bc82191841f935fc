"""Every format: the same fields, the same order; JUnit and GitHub annotations read right."""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pyarrow.parquet as pq
import pytest

from igrt_edits.contract import FINDING_FIELDS
from igrt_edits.errors import ConfigError
from igrt_edits.report.formats import format_for
from igrt_edits.report.github import annotations
from igrt_edits.report.outputs import OutputOptions, plan_outputs
from igrt_edits.rules.findings import order_findings
from tests.report_helpers import DEMO, REPO, run_cli, write_extract

# Claims listed out of order, across two files; two rules on one line (C10:1).
FIRST = (
    "C9,1,P1,1960-05-01,2025-03-03,77373,",
    "C9,2,P1,1960-05-01,2025-03-03,77014,",
    "C2,3,P2,1970-01-01,2025-03-04,77412,",
)
SECOND = (
    "C2,2,P2,1970-01-01,2025-03-04,77014,",
    "C2,1,P2,1970-01-01,2025-03-04,G6002,",
    "C10,1,P3,1975-01-01,2025-03-05,G6017,26",
    "C10,2,P3,1975-01-01,2025-03-05,77014,",
    "C10,3,P3,1975-01-01,2025-03-05,77412,",
)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    first = write_extract(root / "first.csv", FIRST)
    second = write_extract(root / "second.csv", SECOND)
    files = {}
    for fmt, name in (
        ("json", "f.json"),
        ("jsonl", "f.jsonl"),
        ("csv", "f.csv"),
        ("parquet", "f.parquet"),
        ("sarif", "f.sarif"),
        ("junit", "f.xml"),
        ("github", "f.txt"),
    ):
        files[fmt] = root / name
        result = run_cli([str(first), str(second), "--format", fmt, "-o", str(files[fmt])])
        assert result.exit_code == 1, result.stderr
    return files


def _records(outputs) -> dict[str, list[dict]]:
    json_doc = json.loads(outputs["json"].read_text(encoding="utf-8"))["findings"]
    jsonl = [json.loads(ln) for ln in outputs["jsonl"].read_text(encoding="utf-8").splitlines()]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"].read_text(encoding="utf-8"))))
    parquet = pq.read_table(outputs["parquet"]).to_pylist()
    return {"json": json_doc, "jsonl": jsonl, "csv": rows, "parquet": parquet}


def test_same_fields_in_the_same_order_everywhere(outputs):
    records = _records(outputs)
    for fmt, rows in records.items():
        assert rows, fmt
        assert all(list(r) == list(FINDING_FIELDS) for r in rows), fmt
    reference = records["json"]
    for fmt in ("jsonl", "csv", "parquet"):
        for got, want in zip(records[fmt], reference, strict=True):
            normal = dict(got)
            if fmt == "csv":
                normal["related_lines"] = [x for x in got["related_lines"].split("; ") if x]
                normal["line_number"] = int(got["line_number"])
                normal["source_row"] = int(got["source_row"])
            if fmt == "parquet":
                normal["service_date"] = got["service_date"].isoformat()
            assert normal == want, fmt


def test_sorted_by_claim_line_rule_in_every_format(outputs):
    reference = json.loads(outputs["json"].read_text(encoding="utf-8"))["findings"]
    keys = [(f["claim_id"], f["line_number"], f["rule_id"]) for f in reference]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) >= 2 and any(
        a[:2] == b[:2] for a, b in itertools.pairwise(keys)
    )  # more than one claim, and a line with several rules
    sarif = json.loads(outputs["sarif"].read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [r["partialFingerprints"]["igrtFinding/v1"] for r in sarif] == [
        f["fingerprint"] for f in reference
    ]
    github = outputs["github"].read_text(encoding="utf-8").splitlines()
    assert [ln.split("::")[-1] for ln in github] == [f["message"] for f in reference]


def test_sort_findings_orders_a_shuffled_frame(outputs):
    reference = pd.DataFrame(json.loads(outputs["json"].read_text(encoding="utf-8"))["findings"])
    shuffled = reference.sample(frac=1, random_state=7)
    assert order_findings(shuffled).equals(reference)


def test_junit_one_case_per_claim_one_failure_per_finding(outputs):
    root = ET.parse(outputs["junit"]).getroot()
    findings = json.loads(outputs["json"].read_text(encoding="utf-8"))["findings"]
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"claim C9", "claim C2", "claim C10"}
    for claim in ("C9", "C2", "C10"):
        failures = cases[f"claim {claim}"].findall("failure")
        mine = [f for f in findings if f["claim_id"] == claim]
        assert len(failures) == len(mine)
        for failure, finding in zip(failures, mine, strict=True):
            assert failure.get("type") == finding["severity"]
            assert failure.get("message").startswith(f"{finding['rule_id']} {finding['rule_name']}")
            assert finding["fingerprint"] in failure.text
    suites = root.findall("testsuite")
    assert [s.get("name").rsplit("/", 1)[-1] for s in suites] == ["first.csv", "second.csv"]
    assert int(root.get("tests")) == 3
    # C2 starts in first.csv (row 4), so it belongs to that suite
    assert {c.get("name") for c in suites[0].iter("testcase")} == {"claim C9", "claim C2"}
    properties = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert properties["rows_read"] == "3"
    assert int(root.get("failures")) == 3 and len(list(root.iter("failure"))) == len(findings)


def test_junit_escapes_hostile_claim_ids_and_skips_pediatric_claims(tmp_path):
    header = "claim_id,line_number,patient_id,patient_birth_date,service_date,procedure_code"
    source = write_extract(
        tmp_path / "c.csv",
        ['"A&B<\'x\'>""",1,P1,1960-05-01,2025-03-04,77014', "K1,1,P2,2015-01-01,2025-03-04,77014"],
        header=header,
    )
    target = tmp_path / "out.xml"
    run_cli([str(source), "-o", str(target), "-q"])
    root = ET.parse(target).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"claim A&B<'x'>\"", "claim K1"}
    assert cases["claim K1"].find("skipped") is not None
    assert root.get("skipped") == "1"


def test_github_annotations_escape_and_map_severities():
    findings = pd.DataFrame(
        {
            "severity": ["error", "warning", "info"],
            "source_file": ["a,b:c.csv", "x.csv", "x.csv"],
            "source_row": [2, 3, 4],
            "rule_id": ["IGRT004", "IGRT012", "IGRT006"],
            "rule_name": ["igrt-with-sbrt-srs", "n", "m"],
            "message": ["50% off\nnext: line\r", "w", "i"],
        }
    )
    lines = annotations(findings).tolist()
    assert lines[0] == (
        "::error file=a%2Cb%3Ac.csv,line=2,title=IGRT004 igrt-with-sbrt-srs::50%25 off%0Anext:"
        " line%0D"
    )
    assert lines[1].startswith("::warning file=x.csv,line=3,title=IGRT012 n::")
    assert lines[2].startswith("::notice ")


def test_github_demo_annotation_matches_the_issue_example(monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli([DEMO, "--format", "github", "--select", "IGRT004"])
    assert result.stdout.startswith(
        "::error file=sample_claims/radonc_demo.csv,line=173,title=IGRT004 igrt-with-sbrt-srs::"
    )


@pytest.mark.parametrize(
    ("fmt", "output", "expected"),
    [
        (None, None, "table"),
        (None, "f.json", "json"),
        (None, "f.jsonl", "jsonl"),
        (None, "f.ndjson", "jsonl"),
        (None, "f.CSV", "csv"),
        (None, "f.parquet", "parquet"),
        (None, "f.sarif", "sarif"),
        (None, "f.sarif.json", "sarif"),
        (None, "report.xml", "junit"),
        (None, "f.txt", "table"),
        ("github", "f.json", "github"),
    ],
)
def test_format_from_suffix(fmt, output, expected):
    assert format_for(fmt, output) == expected


def test_binary_format_to_a_terminal_is_refused():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(ConfigError, match="binary"):
        plan_outputs(OutputOptions(fmt="parquet"), stdout=Terminal())


def test_parquet_and_csv_to_a_pipe(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    piped = run_cli([DEMO, "--format", "parquet", "-q"])
    assert piped.stdout_bytes.startswith(b"PAR1")
    table = pq.read_table(io.BytesIO(piped.stdout_bytes))
    assert table.num_rows == 26
    as_csv = run_cli([DEMO, "--format", "csv", "-q"])
    assert as_csv.stdout.splitlines()[0].split(",")[0] == '"claim_id"'


def test_statistics_formats(monkeypatch):
    monkeypatch.chdir(REPO)
    counts = json.loads(run_cli([DEMO, "--statistics", "--format", "json"]).stdout)
    assert counts[0] == {
        "rule_id": "IGRT005",
        "rule_name": "igrt-multiple-methods-per-day",
        "severity": "error",
        "count": 4,
    }
    assert sum(c["count"] for c in counts) == 26
    rows = list(
        csv.DictReader(io.StringIO(run_cli([DEMO, "--statistics", "--format", "csv"]).stdout))
    )
    assert [(r["rule_id"], r["count"]) for r in rows] == [
        (c["rule_id"], str(c["count"])) for c in counts
    ]
    text = run_cli([DEMO, "--statistics"]).stdout.splitlines()
    assert text[0].split() == ["4", "IGRT005", "error", "igrt-multiple-methods-per-day"]


def test_junit_claims_rejected_for_conflicts_are_errors(tmp_path):
    source = write_extract(
        tmp_path / "c.csv",
        ["C1,1,P1,1960-05-01,2025-03-04,77014,", "C1,1,P1,1960-05-01,2025-03-04,77014,"],
    )
    target = tmp_path / "out.xml"
    run_cli([str(source), "-o", str(target), "-q"])
    root = ET.parse(target).getroot()
    (case,) = root.iter("testcase")
    assert case.get("name") == "claim C1" and case.find("error") is not None
    assert root.get("errors") == "1" and root.get("tests") == "1"


def test_json_written_in_slices_equals_one_piece(monkeypatch, tmp_path) -> None:
    """Large runs turn findings into records a slice at a time; the document is the same."""
    whole = tmp_path / "whole.jsonl"
    assert run_cli([str(DEMO), "--format", "jsonl", "-o", str(whole)]).exit_code == 1
    monkeypatch.setattr("igrt_edits.report.frames.RECORDS_AT_ONCE", 3)
    sliced = tmp_path / "sliced.jsonl"
    assert run_cli([str(DEMO), "--format", "jsonl", "-o", str(sliced)]).exit_code == 1
    assert len(whole.read_text(encoding="utf-8").splitlines()) > 3
    assert sliced.read_bytes() == whole.read_bytes()
