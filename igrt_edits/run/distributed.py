"""The per-file and per-bucket steps of a distributed run, on Arrow and pandas only.

A run on a cluster cuts the local pipeline (`pipeline.lint`) at its two seams and runs the
same functions on each piece:

1. per file (or per batch of rows): read, validate and normalize (`normalize_extract`), then
   derive each line's context (`with_context`); all of it depends on one row at a time.
   `stage_file` yields the result as rows of one fixed schema, `STAGED_SCHEMA`: accepted
   lines, rejected rows and one summary row per file, told apart by `record`.
2. between them, the engine finds the claims under two patient ids and the repeated claim lines
   (they need whole claims, which may span files) and rejects their lines as the local run does;
   then each accepted line's scope, from the birth date its member's accepted lines agree on
   when it has no age of its own (`scope`, given that member birth date).
3. per bucket of whole patients: `find_in_bucket` runs `engine_frame` and `find_issues`.

Nothing here imports a cluster engine, so the steps are tested without one.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import LINE_SCHEMA
from igrt_edits.ingest.context import (
    CONTEXT_SCHEMA,
    ContextOptions,
    in_scope,
    member_ages,
    member_birth_dates,
    with_context,
)
from igrt_edits.ingest.normalize import join_diagnoses, normalize_extract
from igrt_edits.ingest.readers import Extract, ReadPlan, iter_extracts
from igrt_edits.rules.engine import RuleSet, find_issues
from igrt_edits.rules.findings import plain_findings
from igrt_edits.rules.frame import FEW_VALUES, Keys, engine_frame
from igrt_edits.rules.lines import ENGINE_COLUMNS
from igrt_edits.run.local import BATCH_LINES
from igrt_edits.util.arrow import as_dictionary, single_chunk

LINE, REJECT, FILE = "line", "reject", "file"

# The columns of a checked line that the edits need, in the order buckets receive them.
LINE_FIELDS = [
    ("file_index", pa.int32()),
    ("source_file", pa.string()),
    ("source_row", pa.int64()),
    *(
        LINE_SCHEMA.field(c) if c in LINE_SCHEMA.names else CONTEXT_SCHEMA.field(c)
        for c in ENGINE_COLUMNS
        if c not in ("source_file", "source_row")
    ),
    LINE_SCHEMA.field("charge_amount"),
]
BUCKET_SCHEMA = pa.schema(LINE_FIELDS)

STAGED_SCHEMA = pa.schema(
    [
        ("record", pa.string()),
        *LINE_FIELDS,
        # the line's own age (NaN: none) and birth date; scope needs the member's other lines
        ("age", pa.float32()),
        ("patient_birth_date", pa.date32()),
        # rejected rows: the raw line number and the reason (claim_id holds the raw claim id)
        ("reject_line_number", pa.string()),
        ("reject_column", pa.string()),
        ("reject_reason", pa.string()),
        # one row per file
        ("format", pa.string()),
        ("size_bytes", pa.int64()),
        ("rows_read", pa.int64()),
        ("has_diagnosis", pa.bool_()),
    ]
)


def stage_extract(extract: Extract, file_index: int, context: ContextOptions) -> pa.Table:
    """Normalized lines with their context, and the rejected rows, as STAGED_SCHEMA rows."""
    part = normalize_extract(extract, 0)
    lines = with_context(part.lines, context, part.has_diagnosis)
    name = str(extract.path)
    return pa.concat_tables(
        [_staged_lines(lines, name, file_index), _staged_rejects(part.rejects, file_index)]
    )


def stage_file(plan: ReadPlan, file_index: int, context: ContextOptions) -> Iterator[pa.Table]:
    """Stage a whole file batch by batch, as a local run reads it; then one summary row."""
    rows_read = 0
    for extract in iter_extracts(plan, BATCH_LINES):
        rows_read += extract.rows_read
        yield stage_extract(extract, file_index, context)
    row = {
        "record": [FILE],
        "file_index": [file_index],
        "source_file": [str(plan.path)],
        "format": [plan.format],
        "size_bytes": [plan.size_bytes],
        "rows_read": [rows_read],
        "has_diagnosis": ["diagnosis_codes" in plan.columns.families],
    }
    yield _fill(pa.table(row), 1)


def _staged_lines(lines: pa.Table, name: str, file_index: int) -> pa.Table:
    n = lines.num_rows
    # A line without any diagnosis stays null, as its source columns were (see
    # frame._context_carriers), so combining it again per bucket gives the same lines.
    diagnoses = join_diagnoses(lines).cast(pa.string())
    columns = {
        "record": pa.array(np.full(n, LINE, dtype=object), pa.string()),
        "file_index": pa.array(np.full(n, file_index, dtype=np.int32)),
        "source_file": pa.array(np.full(n, name, dtype=object), pa.string()),
        "source_row": lines.column("_row"),
        "diagnosis_codes": diagnoses,
    }
    for field in STAGED_SCHEMA:
        if field.name not in columns and field.name in lines.column_names:
            columns[field.name] = lines.column(field.name)
    return _fill(
        pa.table({k: _plain(v, STAGED_SCHEMA.field(k).type) for k, v in columns.items()}), n
    )


def _staged_rejects(rejects: pa.Table, file_index: int) -> pa.Table:
    n = rejects.num_rows
    columns = {
        "record": pa.array(np.full(n, REJECT, dtype=object), pa.string()),
        "file_index": pa.array(np.full(n, file_index, dtype=np.int32)),
        "source_file": rejects.column("source_file"),
        "source_row": rejects.column("source_row"),
        "claim_id": rejects.column("claim_id"),
        "reject_line_number": rejects.column("line_number"),
        "reject_column": rejects.column("column"),
        "reject_reason": rejects.column("reason"),
    }
    return _fill(pa.table(columns), n)


def _plain(column: pa.ChunkedArray | pa.Array, target: pa.DataType) -> pa.Array:
    """A column decoded from its dictionary (if any) and cast to the staged type."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.cast(target)


def _fill(table: pa.Table, n: int) -> pa.Table:
    """`table` with every STAGED_SCHEMA column, nulls where it has none, in schema order."""
    columns = [
        _plain(table.column(f.name), f.type)
        if f.name in table.column_names
        else pa.nulls(n, f.type)
        for f in STAGED_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=STAGED_SCHEMA)


def scope(lines: pa.Table, member_birth: pa.Array, context: ContextOptions) -> np.ndarray:
    """Which staged lines are in scope, given each line's member birth date (the one date the
    member's accepted lines agree on, else null): the local run's `check_lines` decision."""
    own = np.asarray(pc.fill_null(lines.column("age").combine_chunks(), np.nan), np.float32)
    service = single_chunk(lines.column("service_date"))
    return in_scope(member_ages(own, member_birth.cast(pa.date32()), service), context)


def scope_of_whole_run(lines: pa.Table, context: ContextOptions) -> np.ndarray:
    """`scope` of staged accepted lines held together (every line of each member), with the
    member birth dates found here rather than by a cluster aggregation."""
    patient = as_dictionary(single_chunk(lines.column("patient_id"))).indices
    birth = single_chunk(lines.column("patient_birth_date"))
    counted = np.ones(lines.num_rows, dtype=bool)
    member_birth = member_birth_dates(np.asarray(patient, dtype=np.int64), birth, counted)
    return scope(lines, member_birth, context)


def find_in_bucket(frame: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Findings for the checked lines of whole patients (BUCKET_SCHEMA columns, any order).

    Lines are put back in the local run's order (file, then row) and handed to the same
    `engine_frame` and `find_issues` the local run uses.
    """
    table = pa.Table.from_pandas(
        frame[BUCKET_SCHEMA.names], schema=BUCKET_SCHEMA, preserve_index=False
    )
    table = table.sort_by(
        [("file_index", "ascending"), ("source_file", "ascending"), ("source_row", "ascending")]
    )
    files = as_dictionary(single_chunk(table.column("source_file")))
    columns = {
        name: table.column(name)
        for name in BUCKET_SCHEMA.names
        if name not in ("file_index", "source_file", "source_row", "diagnosis_codes")
    }
    for name in FEW_VALUES:
        columns[name] = as_dictionary(single_chunk(columns[name]))
    columns["diagnosis_codes.0"] = table.column("diagnosis_codes")
    columns["_file"] = files.indices
    columns["_row"] = table.column("source_row")
    lines = pa.table(columns)
    checked = np.ones(lines.num_rows, dtype=bool)
    names = files.dictionary.to_pylist()
    findings = find_issues(engine_frame(lines, Keys.of(lines), checked, ruleset, names), ruleset)
    return plain_findings(findings)
