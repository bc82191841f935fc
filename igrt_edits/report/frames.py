"""The findings every format writes: one order, one set of fields, one Arrow schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.engine import FINDING_COLUMNS

FINDING_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("line_number", pa.int64()),
        ("patient_id", pa.string()),
        ("service_date", pa.date32()),
        ("procedure_code", pa.string()),
        ("modifiers", pa.string()),
        ("rule_id", pa.string()),
        ("rule_name", pa.string()),
        ("severity", pa.string()),
        ("message", pa.string()),
        ("related_lines", pa.list_(pa.string())),
        ("policy_ref", pa.string()),
        ("carc", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("fingerprint", pa.string()),
    ]
)
assert tuple(FINDING_SCHEMA.names) == FINDING_COLUMNS


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings ordered by claim_id, line_number, rule_id (the order of every format)."""
    if findings.empty:
        return findings[list(FINDING_COLUMNS)].reset_index(drop=True)
    order = np.lexsort(
        (
            findings["rule_id"].to_numpy(dtype=str),
            findings["line_number"].to_numpy(dtype=np.int64),
            findings["claim_id"].to_numpy(dtype=str),
        )
    )
    return findings.iloc[order][list(FINDING_COLUMNS)].reset_index(drop=True)


def findings_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow: dates as date32, related lines as list<string>."""
    columns = {}
    for field in FINDING_SCHEMA:
        values = findings[field.name]
        if field.name == "service_date":
            columns[field.name] = pa.array(values.to_numpy(dtype=object), pa.string()).cast(
                pa.date32()
            )
        elif field.name == "related_lines":
            columns[field.name] = pa.array(values.to_numpy(dtype=object), field.type)
        else:
            columns[field.name] = pa.array(values.to_numpy(dtype=object), field.type)
    return pa.table(columns, schema=FINDING_SCHEMA)


def finding_records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as plain dicts in contract field order (related_lines as a list).

    Built from whole columns (`tolist` gives Python ints and strings) rather than row by row.
    """
    columns = [findings[c].tolist() for c in FINDING_COLUMNS]
    related = FINDING_COLUMNS.index("related_lines")
    columns[related] = [list(v) for v in columns[related]]
    return [
        dict(zip(FINDING_COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)
    ]


def display_path(path: str, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory) when inside it, POSIX style."""
    base = (base or Path.cwd()).resolve()
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


def file_uri(path: str, base: Path | None = None) -> tuple[str, bool]:
    """(URI, is relative): relative to `base` when inside it, else an absolute file URI."""
    base = (base or Path.cwd()).resolve()
    resolved = Path(path).resolve()
    try:
        return quote(resolved.relative_to(base).as_posix()), True
    except ValueError:
        return resolved.as_uri(), False
