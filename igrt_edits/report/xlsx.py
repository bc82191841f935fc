"""`check --format xlsx`: a run as an Excel workbook, made for billing analysts.

Sheets: Summary (run accounting, findings by rule with severity, CARC and the charges on the
lines each rule flagged, the catalog version, the inputs with their SHA-256), Findings (one row
per finding: every contract field, then the flagged line's provider and charge when the run
kept them), Rejects and Rules (what each rule checks, why, how to fix the claim).

Written with XlsxWriter in constant-memory mode: each row goes to a temporary file as it is
written, so memory stays flat whatever the number of findings. Cells are typed: dates as
dates, charges as money, counts as numbers, and text always as text; text a spreadsheet would
take for a formula also carries Excel's quote prefix, so it stays text even when a user edits
the cell. A sheet holds at most 1,048,576 rows: a longer one keeps its first rows and says,
on the sheet and on Summary, how many it left out and which outputs hold them all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from igrt_edits.contract import FINDING_FIELDS, LINE_DETAIL_FIELDS
from igrt_edits.report import digest
from igrt_edits.report.atomic import atomic_path
from igrt_edits.report.digest import ReportData
from igrt_edits.report.explain import paragraph
from igrt_edits.report.frames import findings_table
from igrt_edits.report.tabular import FORMULA_PATTERN, LIST_SEPARATOR

EXCEL_ROWS = 1_048_576
"""Rows in an Excel worksheet (header included)."""
ZIP64_ABOVE = 500_000
"""Rows above which the file may pass 4 GB uncompressed inside its zip, which needs ZIP64."""
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
WIDE, MESSAGE_WIDTH = 60, 90


@dataclass(frozen=True)
class Column:
    """One sheet column: its header, kind (text, int, date, money) and width."""

    header: str
    kind: str
    width: float


FINDING_KINDS = {"line_number": "int", "source_row": "int", "service_date": "date"}
FINDING_WIDTHS = {
    "claim_id": 18,
    "line_number": 8,
    "patient_id": 18,
    "service_date": 12,
    "procedure_code": 10,
    "modifiers": 10,
    "rule_id": 10,
    "rule_name": 30,
    "severity": 9,
    "message": MESSAGE_WIDTH,
    "related_lines": 30,
    "policy_ref": 40,
    "carc": 6,
    "source_file": 30,
    "source_row": 10,
    "fingerprint": 18,
    "provider_id": 14,
    "charge_amount": 12,
}
REJECT_COLUMNS = (
    Column("source_file", "text", 30),
    Column("source_row", "int", 10),
    Column("claim_id", "text", 18),
    Column("line_number", "text", 10),
    Column("column", "text", 18),
    Column("reason", "text", MESSAGE_WIDTH),
)


def write_workbook(target: str | Path, data: ReportData, row_limit: int = EXCEL_ROWS) -> None:
    """Write the workbook to `target` atomically. `row_limit` is the rows a sheet may hold."""
    # XlsxWriter keeps each sheet's rows in a temporary file until the workbook is closed; a
    # directory of our own removes them even when the write fails or is interrupted.
    with (
        atomic_path(target) as temp,
        tempfile.TemporaryDirectory(prefix="igrt-edits-xlsx-", ignore_cleanup_errors=True) as rows,
    ):
        workbook = xlsxwriter.Workbook(
            str(temp),
            {
                "constant_memory": True,
                "tmpdir": rows,
                # Text is written as text: never as a formula, a number or a link.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        if max(len(data.findings), data.rejects.num_rows) > ZIP64_ABOVE:
            workbook.use_zip64()
        workbook.set_properties(
            {"title": "igrt-edits findings", "comments": f"igrt-edits {data.summary['version']}"}
        )
        styles = Styles.of(workbook)
        summary_sheet = workbook.add_worksheet("Summary")
        findings_sheet = workbook.add_worksheet("Findings")
        rejects_sheet = workbook.add_worksheet("Rejects")
        rules_sheet = workbook.add_worksheet("Rules")
        # Summary is written last (it reports what the other sheets left out), but stays first.
        shown = write_table(
            findings_sheet,
            styles,
            finding_columns(data.findings),
            findings_arrow(data.findings),
            row_limit,
        )
        shown_rejects = write_table(rejects_sheet, styles, REJECT_COLUMNS, data.rejects, row_limit)
        write_rules(rules_sheet, styles, data)
        write_summary(summary_sheet, styles, data, shown, shown_rejects)
        summary_sheet.activate()
        workbook.close()


@dataclass(frozen=True)
class Styles:
    """The cell formats of the workbook."""

    title: Any
    bold: Any
    header: Any
    date: Any
    money: Any
    quoted: Any
    wrapped: Any
    note: Any

    @staticmethod
    def of(workbook: Workbook) -> Styles:
        return Styles(
            title=workbook.add_format({"bold": True, "font_size": 14}),
            bold=workbook.add_format({"bold": True}),
            header=workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1}),
            date=workbook.add_format({"num_format": DATE_FORMAT}),
            money=workbook.add_format({"num_format": MONEY_FORMAT}),
            quoted=workbook.add_format({"quote_prefix": True}),
            wrapped=workbook.add_format({"text_wrap": True, "valign": "top"}),
            note=workbook.add_format(
                {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}
            ),
        )


def finding_columns(findings: pd.DataFrame) -> list[Column]:
    """The contract's fields in order, then the line details the findings carry."""
    names = [*FINDING_FIELDS, *(c for c in LINE_DETAIL_FIELDS if c in findings.columns)]
    return [
        Column(
            name,
            "money" if name == "charge_amount" else FINDING_KINDS.get(name, "text"),
            FINDING_WIDTHS[name],
        )
        for name in names
    ]


def findings_arrow(findings: pd.DataFrame) -> pa.Table:
    """The findings typed as the Findings sheet writes them: the output schema (dates as
    dates, related lines as lists), then the line details."""
    table = findings_table(findings)
    for name in LINE_DETAIL_FIELDS:
        if name in findings.columns:
            kind = pa.float64() if name == "charge_amount" else pa.string()
            values = findings[name].astype(object).where(findings[name].notna(), None)
            table = table.append_column(name, pa.array(values.tolist(), kind))
    return table


def write_table(
    sheet: Worksheet, styles: Styles, columns: Sequence[Column], table: pa.Table, limit: int
) -> int:
    """A header row, then the rows of `table` (at most `limit` rows in all, a closing note
    row included when some are left out); returns how many data rows were written."""
    total = table.num_rows
    shown = total if total + 1 <= limit else limit - 2
    note = left_out_note(shown, total) if shown < total else None
    for index, column in enumerate(columns):
        style = {"date": styles.date, "money": styles.money}.get(column.kind)
        sheet.set_column(index, index, column.width, style)
        sheet.write_string(0, index, column.header, styles.header)
    if note:  # beside the header too, which stays in view (constant memory: rows in order)
        sheet.set_column(len(columns), len(columns), WIDE)
        sheet.write_string(0, len(columns), note, styles.note)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(shown, 1), len(columns) - 1)
    for start in range(0, shown, ROWS_AT_ONCE):
        part = table.slice(start, min(ROWS_AT_ONCE, shown - start))
        _write_rows(sheet, styles, columns, part, first_row=start + 1)
    if note:
        sheet.write_string(shown + 1, 0, note, styles.note)
    return shown


ROWS_AT_ONCE = 20_000
"""Rows turned into Python values at a time: bounds the memory a large sheet takes."""


def _write_rows(
    sheet: Worksheet, styles: Styles, columns: Sequence[Column], part: pa.Table, first_row: int
) -> None:
    """Write `part` from sheet row `first_row` on, column by column converted at once, then
    cell by cell (XlsxWriter takes one cell at a time, and constant memory needs row order)."""
    prepared = []
    for index, column in enumerate(columns):
        values = part.column(column.header)
        if column.kind == "text":
            texts = _texts(values)
            risky = set(np.flatnonzero(_formula_like(texts)).tolist())
            prepared.append((index, texts.to_pylist(), risky, True))
        else:
            prepared.append((index, _numbers(values, column.kind), set(), False))
    write_string, write_number, quoted = sheet.write_string, sheet.write_number, styles.quoted
    for offset in range(part.num_rows):
        row = first_row + offset
        for index, values, risky, text in prepared:
            value = values[offset]
            if value is None or value == "":
                continue  # a blank cell
            if text:
                write_string(row, index, value, quoted if offset in risky else None)
            else:
                write_number(row, index, value)


def _texts(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as text: lists joined as in CSV outputs, dictionaries decoded."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        values, kind = values.cast(kind.value_type), kind.value_type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pc.binary_join(values, LIST_SEPARATOR)
    return values.cast(pa.string())


def _formula_like(values: pa.ChunkedArray) -> np.ndarray:
    """Which cells start as a formula would (=, +, -, @, tab, carriage return)."""
    matched = pc.fill_null(pc.match_substring_regex(values, FORMULA_PATTERN), False)
    return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)


def _numbers(values: pa.ChunkedArray, kind: str) -> list[float | int | None]:
    """Numbers for a numeric column; dates as Excel serial day numbers."""
    if kind == "date":
        days = values.cast(pa.date32()).cast(pa.int32())
        return pc.add(days.cast(pa.int64()), EXCEL_DAY_OF_1970).to_pylist()
    return values.to_pylist()


EXCEL_DAY_OF_1970 = 25_569
"""Excel's serial number of 1970-01-01 (day 0 is 1899-12-30, in the 1900 date system)."""


def left_out_note(shown: int, total: int) -> str:
    return (
        f"This sheet holds the first {shown:,} of {total:,} rows: Excel holds at most"
        f" {EXCEL_ROWS:,} rows a sheet. {total - shown:,} rows are not shown here; write them"
        " all with --format parquet or --format csv."
    )


RULE_SHEET_COLUMNS = (
    Column("Rule", "text", 10),
    Column("Name", "text", 30),
    Column("Severity", "text", 10),
    Column("Findings", "int", 10),
    Column("CARC", "text", 6),
    Column("CARC reason", "text", 40),
    Column("What it flags", "text", WIDE),
    Column("What it checks", "text", WIDE),
    Column("Why it is wrong", "text", WIDE),
    Column("How to fix the claim", "text", WIDE),
    Column("Policy reference", "text", 40),
)


def write_rules(sheet: Worksheet, styles: Styles, data: ReportData) -> None:
    """Every rule of the catalog: its severity in this run (or off), its findings, its
    explanation."""
    applied = {r.id: r for r in data.ruleset.rules}
    counts = data.findings["rule_id"].value_counts()
    for index, column in enumerate(RULE_SHEET_COLUMNS):
        wrap = styles.wrapped if column.width >= 40 else None
        sheet.set_column(index, index, column.width, wrap)
        sheet.write_string(0, index, column.header, styles.header)
    sheet.freeze_panes(1, 1)
    rules = list(data.catalog.rules.values())
    sheet.autofilter(0, 0, max(len(rules), 1), len(RULE_SHEET_COLUMNS) - 1)
    for row, rule in enumerate(rules, start=1):
        active = applied.get(rule.id)
        texts = [
            rule.id,
            rule.name,
            active.severity if active else "off",
            None,
            rule.carc,
            data.catalog.carc.get(rule.carc, ""),
            rule.summary,
            *(paragraph(t) for t in (rule.explanation.what, rule.explanation.why)),
            paragraph(rule.explanation.fix),
            " ".join(rule.policy_ref.split()),
        ]
        for index, text in enumerate(texts):
            if text:
                sheet.write_string(row, index, text, styles.wrapped)
        sheet.write_number(row, 3, int(counts.get(rule.id, 0)), styles.wrapped)


class SheetRows:
    """Writes a sheet top to bottom (constant memory takes rows in order)."""

    def __init__(self, sheet: Worksheet, styles: Styles) -> None:
        self.sheet, self.styles, self.row = sheet, styles, 0

    def line(self, *cells: object, style: Any = None) -> None:
        """One row of cells: text, numbers (`Money` for money), None for blank."""
        for index, value in enumerate(cells):
            self._cell(index, value, style)
        self.row += 1

    def skip(self) -> None:
        self.row += 1

    def _cell(self, index: int, value: object, style: Any) -> None:
        sheet, styles = self.sheet, self.styles
        if value is None or value == "":
            return
        if isinstance(value, Money):
            sheet.write_number(self.row, index, value.amount, styles.money)
        elif isinstance(value, bool):
            sheet.write_string(self.row, index, "yes" if value else "no", style)
        elif isinstance(value, int | float):
            sheet.write_number(self.row, index, value, style)
        else:
            sheet.write_string(self.row, index, str(value), style)


@dataclass(frozen=True)
class Money:
    amount: float


def _money(amount: float | None) -> Money | str:
    return "not known" if amount is None else Money(amount)


SUMMARY_WIDTHS = (34, 30, 12, 12, 14, 10, 40, 70)


def write_summary(
    sheet: Worksheet, styles: Styles, data: ReportData, shown: int, shown_rejects: int
) -> None:
    """Run accounting, findings by rule, inputs, and what the other sheets left out."""
    summary = data.summary
    for index, width in enumerate(SUMMARY_WIDTHS):
        sheet.set_column(index, index, width)
    rows = SheetRows(sheet, styles)
    rows.line("igrt-edits run summary", style=styles.title)
    rows.skip()
    for total, (sheet_name, written) in (
        (summary["findings"], ("Findings", shown)),
        (summary["rows_rejected"], ("Rejects", shown_rejects)),
    ):
        if written < total:
            rows.line(f"{sheet_name}: {left_out_note(written, total)}", style=styles.note)
    severity = summary["findings_by_severity"]
    pairs: list[tuple[str, object]] = [
        ("igrt-edits version", summary["version"]),
        ("Edit catalog version", summary["edit_data_version"]),
        ("Rows read", summary["rows_read"]),
        ("Rows checked", summary["rows_checked"]),
        ("Rows rejected", summary["rows_rejected"]),
        ("Rows out of scope", summary["rows_out_of_scope"]),
        ("Claims checked", summary["claims_checked"]),
        ("Patients checked", summary["patients_checked"]),
        ("Findings", summary["findings"]),
        ("Errors", severity["error"]),
        ("Warnings", severity["warning"]),
        ("Info", severity["info"]),
        ("Lines flagged", summary["lines_flagged"]),
        ("Charges on flagged lines", _money(summary["charges_flagged"])),
        ("Checked lines with no known setting", summary["lines_setting_unknown"]),
        ("Fails on", summary.get("fail_on", "")),
        ("Exit status", summary.get("exit_status", "")),
        ("Patient ids redacted", bool(summary.get("redacted"))),
    ]
    baseline = summary.get("baseline")
    if baseline:
        pairs += [
            ("Baseline", baseline["path"]),
            ("Findings new against the baseline", baseline["new_findings"]),
            ("Baseline entries matched", baseline["matched"]),
            ("Baseline entries no longer found", baseline["stale"]),
        ]
    for label, value in pairs:
        rows.line(label, value)
    for rule_id, why in summary["rules_skipped"].items():
        rows.line(f"{rule_id} not applied", why)
    rows.skip()
    _rule_table(rows, data)
    rows.skip()
    _inputs_table(rows, summary)


def _rule_table(rows: SheetRows, data: ReportData) -> None:
    styles = rows.styles
    rows.line("Findings by rule", style=styles.bold)
    rows.line(
        "Rule",
        "Name",
        "Severity",
        "Findings",
        "Charges on flagged lines",
        "CARC",
        "CARC reason",
        "What it flags",
        style=styles.header,
    )
    known = digest.has_charges(data.findings)
    for rule in digest.rule_rows(data.findings, data.catalog, data.ruleset):
        rows.line(
            rule.rule_id,
            rule.name,
            rule.severity,
            rule.findings,
            Money(rule.charges or 0.0) if known else "not known",
            rule.carc,
            rule.carc_reason,
            rule.summary,
        )


def _inputs_table(rows: SheetRows, summary: dict[str, Any]) -> None:
    styles = rows.styles
    rows.line("Inputs", style=styles.bold)
    rows.line(
        "Path",
        "Format",
        "Size (bytes)",
        "Rows read",
        "Rows checked",
        "Rows rejected",
        "Rows out of scope",
        "SHA-256",
        style=styles.header,
    )
    for file in summary["files"]:
        rows.line(
            file["path"],
            file["format"],
            file["size_bytes"],
            file["rows_read"],
            file["rows_checked"],
            file["rows_rejected"],
            file["rows_out_of_scope"],
            file.get("sha256") or "not computed",
        )
    for path in summary["skipped_files"]:
        rows.line(path, "skipped: not CSV or Parquet")
