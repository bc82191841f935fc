"""Findings as JSON (`{"summary": ..., "findings": [...]}`) and JSON Lines (one per line).

The JSON document keeps the summary indented and each finding compact on its own line: easy
to read, to diff and to grep, and written by the C encoder (fast for large runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import pandas as pd

from igrt_edits.report.frames import iter_finding_records

ENCODER = json.JSONEncoder(ensure_ascii=False)


def compact_lines(items: Iterable[Any]) -> Iterator[str]:
    """Each item as one line of compact JSON."""
    return map(ENCODER.encode, items)


def write_json(out: IO[str], findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    """The data contract's JSON document: the run summary and the findings."""
    out.write('{\n  "summary": ')
    out.write(json.dumps(summary, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    out.write(',\n  "findings": ')
    write_array(out, compact_lines(iter_finding_records(findings)), indent=4)
    out.write("\n}\n")


def write_array(out: IO[str], lines: Iterable[str], indent: int) -> None:
    """A JSON array with one element per line, indented by `indent` spaces."""
    separator = "[\n" + " " * indent
    wrote = False
    for line in lines:
        out.write(separator)
        out.write(line)
        separator = ",\n" + " " * indent
        wrote = True
    out.write("\n" + " " * (indent - 2) + "]" if wrote else "[]")


def write_jsonl(out: IO[str], findings: pd.DataFrame) -> None:
    """One finding per line, the same fields as every format (no summary: see --summary)."""
    for line in compact_lines(iter_finding_records(findings)):
        out.write(line)
        out.write("\n")
