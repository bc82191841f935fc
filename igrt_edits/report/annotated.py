"""The annotated extract: every input line, in input order, with what the run said about it.

`status` is `checked`, `out_of_scope` (a member under the adult age) or `rejected`. Checked
lines carry the rules that flagged them (`rule_ids`), their highest severity and the number
of findings. Rejected rows carry the column and reason of the rejection. A row rejected by
the row checks (a bad value) has only its position and the claim and line as read (the source
file holds the raw values at that row); a line rejected for a claim conflict (a claim under
two patients, a repeated claim line) keeps its normalized values. Lines hold normalized
values under the contract's column names, then the extract's own extra columns untouched.

The run's lines (`RunResult.lines`, with `_status`) are needed: a streamed run does not keep
them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import LINE_SCHEMA, SEVERITY_RANK
from igrt_edits.errors import RunError
from igrt_edits.ingest.context import CONTEXT_SCHEMA
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import finding_line_keys, line_keys
from igrt_edits.run.result import RunResult

LINE_COLUMNS = tuple(LINE_SCHEMA.names)
"""Normalized line values, under the contract's names, in its order."""
INTERNAL = {*CONTEXT_SCHEMA.names, "_status"}
SEVERITY_NAMES = np.array(sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__), dtype=object)


def annotated_table(
    result: RunResult,
    findings: pd.DataFrame,
    redactor: Redactor | None = None,
) -> pa.Table:
    """Every input line with its status and findings, sorted by file and row.

    With a redactor, patient ids become tokens, birth dates quoted in reject reasons are
    removed, and the extract's extra columns are left out (they may hold names or other
    identifiers the contract does not know about).
    """
    if result.lines is None:
        raise RunError("the annotated output needs an in-memory run (--no-stream)")
    names = [f.path for f in result.files]
    rejects = result.rejects if redactor is None else redactor.rejects(result.rejects)
    lines = _lines(result.lines, names)
    reject_keys = line_keys(
        _file_numbers(rejects.column("source_file"), names),
        rejects.column("source_row").to_numpy(),
    )
    lines = _with_reasons(lines, rejects, reject_keys)
    row_rejects = ~np.isin(reject_keys, _keys(lines))
    table = _concat([lines, _rejected(rejects.filter(pa.array(row_rejects)), names)])
    order = pc.sort_indices(table, [("_file", "ascending"), ("source_row", "ascending")])
    table = table.take(order)
    keys = line_keys(table.column("_file").to_numpy(), table.column("source_row").to_numpy())
    table = _with_findings(table, keys, finding_line_keys(result, findings), findings)
    table = table.drop_columns(["_file"])
    if redactor is not None:
        extra = [n for n in table.column_names if n not in _fixed_columns()]
        table = table.drop_columns(extra)
        index = table.schema.get_field_index("patient_id")
        table = table.set_column(index, "patient_id", redactor.arrow(table.column("patient_id")))
    return table


def _concat(parts: list[pa.Table]) -> pa.Table:
    """Stack the parts; extra columns whose types differ between files become text."""
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        fixed = _fixed_columns() | {"_file"}
        as_text = [
            part.cast(
                pa.schema([f if f.name in fixed else f.with_type(pa.string()) for f in part.schema])
            )
            for part in parts
        ]
        return pa.concat_tables(as_text, promote_options="permissive")


def _fixed_columns() -> set[str]:
    return {
        "source_file",
        "source_row",
        "status",
        "rule_ids",
        "max_severity",
        "finding_count",
        "reject_column",
        "reject_reason",
        *LINE_COLUMNS,
    }


def _file_numbers(paths: pa.ChunkedArray | pa.Array, names: list[str]) -> np.ndarray:
    """Each path's position among the run's input files."""
    numbers = pd.Series(paths.to_pylist(), dtype=object).map({n: i for i, n in enumerate(names)})
    return numbers.to_numpy(dtype=np.int64)


def _keys(table: pa.Table) -> np.ndarray:
    return line_keys(table.column("_file").to_numpy(), table.column("source_row").to_numpy())


def _with_reasons(lines: pa.Table, rejects: pa.Table, reject_keys: np.ndarray) -> pa.Table:
    """The reject column and reason of lines rejected after normalizing (claim conflicts)."""
    slot = pd.Index(reject_keys).get_indexer(_keys(lines))
    found = slot >= 0
    take = pa.array(np.where(found, slot, 0))
    mask = pa.array(~found)
    for name, source in (("reject_column", "column"), ("reject_reason", "reason")):
        values = rejects.column(source).take(take) if len(rejects) else pa.nulls(len(slot))
        values = pc.if_else(mask, pa.scalar(None, pa.string()), values.cast(pa.string()))
        lines = lines.set_column(lines.schema.get_field_index(name), name, values)
    return lines


def _lines(lines: pa.Table, names: list[str]) -> pa.Table:
    """Normalized lines in annotated layout: position and status, contract columns, extras."""
    n = lines.num_rows
    file_index = lines.column("_file").to_numpy()
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "_file": pa.array(file_index, pa.int64()),
        "source_file": pa.array(np.asarray(names, dtype=object)[file_index], pa.string())
        if n
        else pa.array([], pa.string()),
        "source_row": lines.column("_row").cast(pa.int64()),
        "status": lines.column("_status").cast(pa.string()),
        "reject_column": pa.nulls(n, pa.string()),
        "reject_reason": pa.nulls(n, pa.string()),
    }
    for name in LINE_COLUMNS:
        if name == "diagnosis_codes":
            columns[name] = _diagnoses(lines)
        else:
            column = lines.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            columns[name] = column
    for name in lines.column_names:
        if name in INTERNAL or name in LINE_COLUMNS or name.startswith("diagnosis_codes."):
            continue
        columns[f"input_{name}" if name in columns else name] = _as_text(lines.column(name))
    return pa.table(columns)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An extra column as read, bytes shown as text when they are UTF-8 (CSV columns are)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        try:
            return column.cast(pa.string())
        except pa.ArrowInvalid:
            return column
    return column


def _diagnoses(lines: pa.Table) -> pa.Array:
    """The line's diagnosis codes as read, joined with ',' across diagnosis columns."""
    parts = [
        lines.column(n).cast(pa.string())
        for n in lines.column_names
        if n.startswith("diagnosis_codes.")
    ]
    if not parts:
        return pa.nulls(lines.num_rows, pa.string())
    if len(parts) == 1:
        return parts[0]
    joined = pc.binary_join_element_wise(*parts, ",", null_handling="skip")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)


def _rejected(rejects: pa.Table, names: list[str]) -> pa.Table:
    """Rejected rows: position, claim and line as read (line number when whole), reason."""
    n = rejects.num_rows
    line_text = pc.utf8_trim_whitespace(rejects.column("line_number"))
    whole = pc.fill_null(pc.match_substring_regex(line_text, r"^\d{1,18}$"), False)
    line_number = pc.if_else(whole, line_text, pa.scalar(None, pa.string())).cast(pa.int64())
    return pa.table(
        {
            "_file": pa.array(_file_numbers(rejects.column("source_file"), names), pa.int64()),
            "source_file": rejects.column("source_file"),
            "source_row": rejects.column("source_row"),
            "status": pa.array(np.full(n, "rejected", dtype=object), pa.string()),
            "reject_column": rejects.column("column"),
            "reject_reason": rejects.column("reason"),
            "claim_id": rejects.column("claim_id"),
            "line_number": line_number,
        }
    )


def _with_findings(
    table: pa.Table, keys: np.ndarray, finding_keys: np.ndarray, findings: pd.DataFrame
) -> pa.Table:
    """Add rule_ids (list), max_severity and finding_count per line, joined on file and row."""
    order = np.lexsort((findings["rule_id"].to_numpy(dtype=str), finding_keys))
    sorted_keys = finding_keys[order]
    rule_ids = findings["rule_id"].to_numpy(dtype=object)[order]
    ranks = findings["severity"].map(SEVERITY_RANK).to_numpy(dtype=np.int64)[order]
    flagged, starts, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
    worst = np.maximum.reduceat(ranks, starts) if len(ranks) else np.zeros(0, np.int64)
    slot = np.searchsorted(flagged, keys)
    slot = np.minimum(slot, max(len(flagged) - 1, 0))
    hit = (flagged[slot] == keys) if len(flagged) else np.zeros(len(keys), dtype=bool)
    per_line = np.where(hit, counts[slot] if len(flagged) else 0, 0)
    offsets = np.concatenate([[0], np.cumsum(per_line)]).astype(np.int32)
    # positions into the sorted findings: each hit line's run starts[slot] .. + count
    first = np.repeat(np.where(hit, starts[slot] if len(flagged) else 0, 0), per_line)
    within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], per_line)
    values = pa.array(rule_ids[first + within], pa.string())
    severity = np.where(hit, SEVERITY_NAMES[worst[slot]] if len(flagged) else None, None)
    status_at = table.schema.get_field_index("status")
    table = table.add_column(
        status_at + 1, "rule_ids", pa.ListArray.from_arrays(pa.array(offsets), values)
    )
    table = table.add_column(status_at + 2, "max_severity", pa.array(severity, pa.string()))
    return table.add_column(
        status_at + 3, "finding_count", pa.array(per_line.astype(np.int64), pa.int64())
    )
