"""The findings every format writes: one order, one set of fields, one Arrow schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pyarrow as pa

from igrt_edits.contract import FINDING_FIELDS, FINDINGS_FILE_SCHEMA
from igrt_edits.rules.findings import to_arrow


def findings_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow for output: dates as date32, related lines as list<string>."""
    return to_arrow(findings).cast(FINDINGS_FILE_SCHEMA)


def finding_records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as plain dicts in contract field order (related_lines as a list)."""
    return list(iter_finding_records(findings))


RECORDS_AT_ONCE = 20_000
"""Findings turned into Python objects at a time: a dict per finding costs about 1 KB."""


def iter_finding_records(findings: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """`finding_records` a slice at a time, so writing a large run never holds them all.

    Each slice is built from whole columns (`tolist` gives Python ints and strings) rather
    than row by row.
    """
    related = FINDING_FIELDS.index("related_lines")
    for start in range(0, len(findings), RECORDS_AT_ONCE):
        part = findings.iloc[start : start + RECORDS_AT_ONCE]
        columns = [part[c].tolist() for c in FINDING_FIELDS]
        columns[related] = [list(v) for v in columns[related]]
        for values in zip(*columns, strict=True):
            yield dict(zip(FINDING_FIELDS, values, strict=True))


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
