"""Findings as JSON (`{"summary": ..., "findings": [...]}`) and JSON Lines (one per line)."""

from __future__ import annotations

import json
from typing import IO, Any

import pandas as pd

from igrt_edits.report.frames import finding_records


def write_json(out: IO[str], findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    """The data contract's JSON document: the run summary and the findings."""
    document = {"summary": summary, "findings": finding_records(findings)}
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def write_jsonl(out: IO[str], findings: pd.DataFrame) -> None:
    """One finding per line, the same fields as every format (no summary: see --summary)."""
    for record in finding_records(findings):
        out.write(json.dumps(record, ensure_ascii=False))
        out.write("\n")
