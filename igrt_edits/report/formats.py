"""Findings as JSON and CSV (the machine-readable formats of the data contract)."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

import pandas as pd

from igrt_edits.engine import FINDING_COLUMNS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def finding_records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as plain dicts in contract field order (related_lines as a list)."""
    records = findings[list(FINDING_COLUMNS)].to_dict(orient="records")
    for record in records:
        record["related_lines"] = list(record["related_lines"])
        record["line_number"] = int(record["line_number"])
        record["source_row"] = int(record["source_row"])
    return records


def write_json(out: IO[str], findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    json.dump({"summary": summary, "findings": finding_records(findings)}, out, indent=2)
    out.write("\n")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(out: IO[str], findings: pd.DataFrame) -> None:
    """Findings as CSV; related lines joined with '; '; formula-like cells neutralised."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FINDING_COLUMNS)
    for record in finding_records(findings):
        record["related_lines"] = "; ".join(record["related_lines"])
        writer.writerow([safe_cell(record[c]) for c in FINDING_COLUMNS])
