"""The findings every format writes: one order, one set of fields, one Arrow schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import FINDING_FIELDS, FINDINGS_FILE_SCHEMA
from igrt_edits.rules.findings import encoded_table, to_arrow
from igrt_edits.util.arrow import from_series


def text_ids(series: pd.Series) -> np.ndarray:
    """One integer per distinct text of a findings column (-1 for missing), without decoding
    a dictionary column."""
    column = from_series(series, pa.string())
    if pa.types.is_dictionary(column.type):  # its entries may repeat: number the texts
        same = np.asarray(pc.dictionary_encode(column.dictionary).indices, dtype=np.int64)
        indices = np.asarray(pc.fill_null(column.indices, -1), dtype=np.int64)
        return np.where(indices < 0, -1, same[np.maximum(indices, 0)])
    return np.asarray(pc.fill_null(pc.dictionary_encode(column).indices, -1), dtype=np.int64)


def findings_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow for output: dates as date32, related lines as list<string>."""
    return to_arrow(findings).cast(FINDINGS_FILE_SCHEMA)


SLICE_ROWS = 1024 * 1024
"""Findings decoded for output at a time: a Parquet row group (Arrow's default size)."""


def findings_slices(findings: pd.DataFrame, rows: int = SLICE_ROWS) -> Iterator[pa.Table]:
    """`findings_table` a slice at a time (at least one, maybe empty): a large run's findings
    stay dictionary-encoded, and only one slice is ever held as plain text."""
    encoded = encoded_table(findings)
    for start in range(0, max(encoded.num_rows, 1), rows):
        yield decoded(encoded.slice(start, rows))


def decoded(encoded: pa.Table) -> pa.Table:
    """Encoded findings in FINDINGS_FILE_SCHEMA. A dictionary column's values are cast (dates
    parsed) once each and taken per finding, rather than each finding's text cast."""
    columns = []
    for target in FINDINGS_FILE_SCHEMA:
        column = encoded.column(target.name)
        if pa.types.is_dictionary(column.type):
            column = pa.chunked_array(
                [c.dictionary.cast(target.type).take(c.indices) for c in column.chunks],
                target.type,
            )
        columns.append(column.cast(target.type))
    return pa.table(columns, schema=FINDINGS_FILE_SCHEMA)


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
