"""--annotated: every input line once, in input order, with its status and its findings."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.report_helpers import DEMO, REPO, SMALL_ROWS, run_cli, write_extract


def _annotate(tmp_path, *sources, name="lines.parquet"):
    target = tmp_path / name
    findings = tmp_path / "findings.json"
    result = run_cli([*map(str, sources), "--annotated", str(target), "-o", str(findings), "-q"])
    assert result.exit_code in (0, 1), result.stderr
    return target, json.loads(findings.read_text(encoding="utf-8"))


def test_every_input_row_appears_once_with_its_status(tmp_path):
    malformed = "C7,1,P7,1960-05-01"  # too few fields: the CSV reader sets it aside
    source = write_extract(tmp_path / "claims.csv", [*SMALL_ROWS, malformed])
    target, report = _annotate(tmp_path, source)
    lines = pq.read_table(target).to_pandas()
    summary = report["summary"]
    assert len(lines) == summary["rows_read"] == 6
    assert lines["source_row"].tolist() == [2, 3, 4, 5, 6, 7]  # input order
    assert lines["status"].tolist() == [
        "checked", "checked", "checked", "out_of_scope", "rejected", "rejected",
    ]  # fmt: skip
    counts = lines["status"].value_counts()
    assert counts["checked"] == summary["rows_checked"]
    assert counts["out_of_scope"] == summary["rows_out_of_scope"]
    assert counts["rejected"] == summary["rows_rejected"]
    bad_date = lines.iloc[4]
    assert bad_date["claim_id"] == "C4" and bad_date["line_number"] == 1
    assert bad_date["reject_column"] == "service_date"
    assert "2025-02-30" in bad_date["reject_reason"]
    assert pd.isna(lines.iloc[5]["claim_id"]) and lines.iloc[5]["reject_reason"]
    assert lines.loc[lines["status"] != "rejected", "reject_reason"].isna().all()


def test_findings_are_attached_to_their_lines(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    target, report = _annotate(tmp_path, source)
    lines = pq.read_table(target).to_pandas()
    by_row: dict[int, list[str]] = {}
    for finding in report["findings"]:
        by_row.setdefault(finding["source_row"], []).append(finding["rule_id"])
    for row in lines.itertuples():
        expected = sorted(by_row.get(row.source_row, []))
        assert list(row.rule_ids) == expected
        assert row.finding_count == len(expected)
    assert lines.set_index("source_row").loc[3, "max_severity"] == "error"  # IGRT004
    assert lines.set_index("source_row").loc[4, "max_severity"] == "warning"  # IGRT012
    assert pd.isna(lines.set_index("source_row").loc[2, "max_severity"])


def test_demo_annotation_matches_the_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    target, report = _annotate(tmp_path, DEMO)
    lines = pq.read_table(target)
    assert lines.num_rows == 436
    flagged = lines.filter(pa.compute.greater(lines.column("finding_count"), 0))
    assert flagged.num_rows == report["summary"]["lines_flagged"]
    assert sum(flagged.column("finding_count").to_pylist()) == len(report["findings"])
    worst = pd.Series(flagged.column("max_severity").to_pylist()).value_counts().to_dict()
    assert set(worst) <= {"error", "warning"}


def test_parquet_types_and_csv_flattening(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    parquet, _ = _annotate(tmp_path, source)
    schema = pq.read_schema(parquet)
    assert schema.field("service_date").type == pa.date32()
    assert schema.field("rule_ids").type == pa.list_(pa.string())
    assert schema.field("line_number").type == pa.int64()
    assert schema.field("finding_count").type == pa.int64()
    csv_path, _ = _annotate(tmp_path, source, name="lines.csv")
    rows = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
    assert rows.loc[rows["source_row"] == "3", "rule_ids"].item() == "IGRT004"
    assert rows.columns[:8].tolist() == [
        "source_file", "source_row", "status", "rule_ids", "max_severity", "finding_count",
        "reject_column", "reject_reason",
    ]  # fmt: skip


def test_extra_columns_are_carried_untouched_across_files(tmp_path):
    header = "claim_id,line_number,patient_id,patient_birth_date,service_date,procedure_code"
    first = write_extract(
        tmp_path / "a.csv",
        ["C1,1,P1,1960-05-01,2025-03-03,77373,Dr. Who,7", "C1,2,P1,1960-05-01,2025-03-03,77014,,"],
        header=header + ",attending,status",
    )
    second = write_extract(
        tmp_path / "b.csv", ["C2,1,P2,1970-01-01,2025-03-04,77014, 0042 "], header=header + ",ref"
    )
    target, _ = _annotate(tmp_path, first, second)
    lines = pq.read_table(target)
    assert lines.column("attending").to_pylist() == ["Dr. Who", "", None]
    assert lines.column("input_status").to_pylist() == ["7", "", None]  # 'status' is ours
    assert lines.column("ref").to_pylist() == [None, None, " 0042 "]
    assert lines.column("status").to_pylist() == ["checked"] * 3
    assert lines.column("source_file").to_pylist() == [str(first)] * 2 + [str(second)]


def test_claim_conflicts_keep_their_values_and_reason(tmp_path):
    """A repeated claim line is rejected after normalizing: every copy keeps its values."""
    rows = [*SMALL_ROWS[:3], "C2,1,P2,1970-01-01,2025-03-04,77014,"]
    source = write_extract(tmp_path / "claims.csv", rows)
    target, report = _annotate(tmp_path, source)
    lines = pq.read_table(target).to_pylist()
    assert [ln["status"] for ln in lines] == ["checked", "checked", "rejected", "rejected"]
    for line in lines[2:]:
        assert line["claim_id"] == "C2" and line["procedure_code"] == "77014"
        assert line["service_date"].isoformat() == "2025-03-04"
        assert line["reject_column"] == "line_number"
        assert "more than once" in line["reject_reason"]
        assert line["rule_ids"] == []
    assert report["summary"]["rows_rejected"] == 2


def test_a_streamed_run_cannot_list_every_line(tmp_path):
    source = write_extract(tmp_path / "claims.csv", SMALL_ROWS)
    for args in (["--annotated", str(tmp_path / "a.csv")], ["--format", "junit"]):
        result = run_cli([str(source), "--stream", *args])
        assert result.exit_code == 2
        assert "--no-stream" in result.stderr or "--stream run" in result.stderr
    assert not (tmp_path / "a.csv").exists()
    streamed = run_cli([str(source), "--stream", "--format", "json"])
    assert streamed.exit_code == 1  # the other formats stream fine
