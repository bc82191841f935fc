"""The Excel workbook (`--format xlsx`, `--xlsx FILE`), read back with openpyxl."""

from __future__ import annotations

import datetime
import hashlib
import json
import tempfile

import openpyxl
import pandas as pd
import pytest
from report_helpers import (
    DEMO,
    REDACT_KEY,
    REPO,
    SMALL_ROWS,
    demo_report_data,
    run_cli,
    write_extract,
)

from igrt_edits.contract import FINDING_FIELDS
from igrt_edits.report import xlsx


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    """The demo checked into a workbook, with the same run's JSON output beside it."""
    folder = tmp_path_factory.mktemp("xlsx")
    book, report = folder / "demo.xlsx", folder / "demo.json"
    result = run_cli([str(REPO / DEMO), "-o", str(book), "--exit-zero"])
    assert result.exit_code == 0, result.output
    assert run_cli([str(REPO / DEMO), "-o", str(report), "--exit-zero"]).exit_code == 0
    return openpyxl.load_workbook(book), json.loads(report.read_text())


def sheet_rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_sheets_in_order(demo_book):
    book, _ = demo_book
    assert book.sheetnames == ["Summary", "Findings", "Rejects", "Rules"]
    assert book.active.title == "Summary"


def test_findings_sheet_holds_every_finding_typed(demo_book):
    book, report = demo_book
    sheet = book["Findings"]
    rows = sheet_rows(sheet)
    header = rows[0]
    assert header[: len(FINDING_FIELDS)] == FINDING_FIELDS
    findings = report["findings"]
    assert len(rows) - 1 == len(findings) == report["summary"]["findings"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(rows)}"
    for cells, finding in zip(sheet.iter_rows(min_row=2), findings, strict=True):
        got = {name: cell for name, cell in zip(header, cells, strict=True)}
        date = got["service_date"]
        assert date.is_date and date.number_format == xlsx.DATE_FORMAT
        assert date.value.date() == datetime.date.fromisoformat(finding["service_date"])
        assert got["line_number"].value == finding["line_number"]
        assert got["source_row"].value == finding["source_row"]
        assert (got["related_lines"].value or "") == "; ".join(finding["related_lines"])
        for name in ("claim_id", "rule_id", "severity", "message", "carc", "fingerprint"):
            assert got[name].value == finding[name]
            assert got[name].data_type == "s"


def test_findings_sheet_carries_the_flagged_lines_charges(demo_book):
    book, report = demo_book
    sheet = book["Findings"]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert header[len(FINDING_FIELDS) :] == ("provider_id", "charge_amount")
    demo = pd.read_csv(REPO / DEMO, dtype=str)
    charge = sheet.cell(2, header.index("charge_amount") + 1)
    assert charge.number_format == xlsx.MONEY_FORMAT
    row = report["findings"][0]["source_row"]
    assert charge.value == pytest.approx(float(demo["charge_amount"][row - 2]))
    assert sheet.cell(2, header.index("provider_id") + 1).value == demo["provider_id"][row - 2]


def summary_values(book) -> dict:
    return {r[0]: r[1] for r in sheet_rows(book["Summary"]) if r[0] and len(r) > 1}


def test_summary_sheet_accounts_for_the_run(demo_book):
    book, report = demo_book
    summary = report["summary"]
    values = summary_values(book)
    for label, key in (
        ("Rows read", "rows_read"),
        ("Rows checked", "rows_checked"),
        ("Rows rejected", "rows_rejected"),
        ("Rows out of scope", "rows_out_of_scope"),
        ("Findings", "findings"),
        ("Lines flagged", "lines_flagged"),
        ("Edit catalog version", "edit_data_version"),
    ):
        assert values[label] == summary[key], label
    assert values["Charges on flagged lines"] == pytest.approx(summary["charges_flagged"])
    rows = sheet_rows(book["Summary"])
    by_rule = {r[0]: r for r in rows if r[0] in summary["rules_applied"]}
    assert {k: v[3] for k, v in by_rule.items() if v[3]} == summary["findings_by_rule"]
    assert by_rule["IGRT004"][2] == "error" and by_rule["IGRT004"][5] == "97"
    flagged = sum(v[4] for v in by_rule.values())
    assert flagged >= summary["charges_flagged"]  # a line two rules flag counts for each
    digest = hashlib.sha256((REPO / DEMO).read_bytes()).hexdigest()
    inputs = [r for r in rows if r[0] == str(REPO / DEMO)]
    assert inputs and inputs[0][7] == digest and inputs[0][3] == summary["rows_read"]


def test_rules_sheet_explains_every_rule(demo_book, catalog):
    book, report = demo_book
    rows = sheet_rows(book["Rules"])
    header = rows[0]
    assert header[:4] == ("Rule", "Name", "Severity", "Findings")
    assert [r[0] for r in rows[1:]] == list(catalog.rules)
    for row in rows[1:]:
        rule = catalog.rules[row[0]]
        explained = dict(zip(header, row, strict=True))
        assert explained["CARC"] == rule.carc
        assert explained["Findings"] == report["summary"]["findings_by_rule"].get(rule.id, 0)
        assert " ".join(rule.explanation.fix.split()) == explained["How to fix the claim"]
        assert explained["Why it is wrong"] and explained["What it checks"]


def test_rejects_sheet_lists_rejected_rows(tmp_path):
    extract = write_extract(tmp_path / "small.csv", SMALL_ROWS)
    book_path = tmp_path / "small.xlsx"
    result = run_cli([str(extract), "--xlsx", str(book_path), "--format", "json"])
    assert result.exit_code == 1
    rejects = sheet_rows(openpyxl.load_workbook(book_path)["Rejects"])
    assert rejects[0] == tuple(c.header for c in xlsx.REJECT_COLUMNS)
    assert len(rejects) == 2
    assert rejects[1][1] == 6 and rejects[1][4] == "service_date"
    assert json.loads(result.stdout)["summary"]["rows_rejected"] == 1


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    rows = [
        '=HYPERLINK("http://x"),1,@P1,1960-05-01,2025-03-03,77373,',
        '=HYPERLINK("http://x"),2,@P1,1960-05-01,2025-03-03,77014,',
    ]
    extract = write_extract(tmp_path / "hostile.csv", rows)
    book_path = tmp_path / "hostile.xlsx"
    assert run_cli([str(extract), "-o", str(book_path)]).exit_code == 1
    sheet = openpyxl.load_workbook(book_path)["Findings"]
    header = [c.value for c in sheet[1]]
    claim = sheet.cell(2, header.index("claim_id") + 1)
    patient = sheet.cell(2, header.index("patient_id") + 1)
    for cell, value in ((claim, '=HYPERLINK("http://x")'), (patient, "@P1")):
        assert cell.data_type == "s" and cell.value == value
        assert cell.quotePrefix  # stays text when a user edits the cell
    assert not sheet.cell(2, header.index("rule_id") + 1).quotePrefix


def test_redacted_workbook_has_no_patient_ids(tmp_path):
    book_path = tmp_path / "redacted.xlsx"
    result = run_cli([str(REPO / DEMO), "-o", str(book_path), "--redact"], env=REDACT_KEY)
    assert result.exit_code == 1
    book = openpyxl.load_workbook(book_path)
    demo_ids = set(pd.read_csv(REPO / DEMO, dtype=str)["patient_id"])
    header = [c.value for c in book["Findings"][1]]
    patients = {r[header.index("patient_id")] for r in sheet_rows(book["Findings"])[1:]}
    assert patients and all(p.startswith("R-") for p in patients)
    every = {v for s in book for r in sheet_rows(s) for v in r if isinstance(v, str)}
    assert not demo_ids & every
    assert summary_values(book)["Patient ids redacted"] == "yes"


def test_beyond_the_row_limit_the_sheet_says_so(tmp_path):
    data = demo_report_data()
    total = len(data.findings)
    path = tmp_path / "limited.xlsx"
    xlsx.write_workbook(path, data, row_limit=10)  # as at Excel's 1,048,576, with 10
    book = openpyxl.load_workbook(path)
    rows = sheet_rows(book["Findings"])
    assert len(rows) == 10  # header, 8 findings, the note
    note = rows[-1][0]
    assert f"the first 8 of {total:,} rows" in note and f"{total - 8:,} rows are not shown" in note
    assert "--format parquet or --format csv" in note
    assert rows[0][-1] == note  # beside the header too
    assert [r[0] for r in rows[1:9]] == data.findings["claim_id"].head(8).tolist()
    assert book["Findings"].auto_filter.ref.endswith("9")  # the filter leaves out the note
    summary_notes = [r[0] for r in sheet_rows(book["Summary"]) if r[0] and "first 8" in r[0]]
    assert summary_notes == [f"Findings: {note}"]


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"previous")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def broken(*args):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(xlsx, "write_rules", broken)
    with pytest.raises(RuntimeError):
        xlsx.write_workbook(path, demo_report_data())
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "tmp"]
    assert list(scratch.iterdir()) == []  # nor the sheets' temporary row files


def test_a_workbook_needs_a_file():
    result = run_cli([str(REPO / DEMO), "--format", "xlsx"])
    assert result.exit_code == 2
    assert "--format xlsx writes a workbook: name a file with --output" in result.stderr


def test_empty_run_writes_a_workbook(tmp_path):
    extract = write_extract(tmp_path / "empty.csv", [])
    path = tmp_path / "empty.xlsx"
    assert run_cli([str(extract), "-o", str(path)]).exit_code == 0
    book = openpyxl.load_workbook(path)
    assert len(sheet_rows(book["Findings"])) == 1
    assert summary_values(book)["Findings"] == 0


def test_streamed_run_gives_the_same_workbook_rows(tmp_path):
    """Line details (provider, charge) travel through a streamed run's partitions too."""
    sheets = []
    for mode in ("--no-stream", "--stream"):
        path = tmp_path / f"book{mode}.xlsx"
        assert run_cli([str(REPO / DEMO), mode, "--xlsx", str(path), "-q"]).exit_code == 1
        sheets.append(sheet_rows(openpyxl.load_workbook(path)["Findings"]))
    assert sheets[0] == sheets[1]
    assert all(row[-1] is not None for row in sheets[0][1:])  # every demo line has a charge
