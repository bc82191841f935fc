"""Streaming mode: lint inputs larger than memory, one partition of patients at a time.

Pass 1 reads every file in batches, validates and normalizes each batch with the same code as
an in-memory run, and appends its lines to one of N temporary Arrow IPC files chosen by a hash
of patient_id, so all lines of a patient land in one partition. It also writes the (claim,
patient) hash pairs of each batch to files partitioned by claim, which find the claims that
appear under two patients, even when those patients are in different partitions.

Pass 2 checks each partition with the in-memory engine and merges the results. The findings
equal an in-memory run's. Temporary files are removed on success, on failure and on Ctrl-C.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from igrt_edits.contract import (
    LINE_DETAIL_FIELDS,
    LINE_SCHEMA,
)
from igrt_edits.ingest.context import CONTEXT_SCHEMA, ContextOptions
from igrt_edits.ingest.normalize import join_diagnoses
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.findings import (
    detail_columns,
    details_as_objects,
    empty_findings,
    encoded_table,
    findings_frame,
    order_findings_table,
)
from igrt_edits.rules.frame import FRAME_INPUTS, IDS
from igrt_edits.run.local import (
    Checked,
    LoadOptions,
    Progress,
    check_lines,
    plan_all,
    read_normalized,
)
from igrt_edits.run.result import LineCounts, RunResult, account, check_reject_rate, sort_rejects
from igrt_edits.util.arrow import as_dictionary, single_chunk
from igrt_edits.util.hashing import fnv1a64

PARTITION_LINES = 750_000
STREAM_BATCH_LINES = 250_000
"""Lines read and normalized at a time in the first pass (with the reader's read-ahead, this
bounds the memory of the pass)."""
"""Lines per partition the run aims for; a partition is checked in memory."""

TEXT = pa.dictionary(pa.int32(), pa.string())


def _partition_field(name: str) -> pa.Field:
    """A partition column: its line type, text dictionary-encoded but for the ids."""
    field = LINE_SCHEMA.field(name) if name in LINE_SCHEMA.names else CONTEXT_SCHEMA.field(name)
    if pa.types.is_string(field.type) and name not in IDS:
        return field.with_type(TEXT)
    return field


# Ids and diagnoses are written as plain text: a batch's large dictionary would otherwise be
# written again to every partition the batch touches.
PARTITION_SCHEMA = pa.schema(
    [
        *(_partition_field(n) for n in dict.fromkeys((*FRAME_INPUTS, *LINE_DETAIL_FIELDS))),
        ("diagnosis_codes.0", pa.string()),
        _partition_field("age"),
        _partition_field("patient_birth_date"),
    ]
)
PAIR_SCHEMA = pa.schema([("claim", pa.uint64()), ("patient", pa.uint64())])
# A second hash of each claim id (another FNV offset) so two claims sharing one 64-bit hash
# are still told apart.
SALT = np.uint64(0x84222325CBF29CE4)


def lint_streamed(
    files: Sequence[Path],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions,
    max_reject_rate: float | None,
    *,
    partitions: int | None = None,
    temp_dir: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Lint `files` partition by partition; same result as an in-memory run."""
    plans = plan_all(files, LoadOptions(user_map=load.user_map, delimiter=load.delimiter))
    lines = sum(_estimate_lines(p) for p in plans)
    count = partitions or max(1, math.ceil(lines / PARTITION_LINES))
    work = Path(tempfile.mkdtemp(prefix="igrt-edits-", dir=temp_dir))
    try:
        spill = Spill(work, count)
        tell = progress or (lambda stage, done, total: None)
        summaries, rejected = read_normalized(
            plans,
            context,
            spill.add,
            tell,
            batch_lines=STREAM_BATCH_LINES,
            details=load.line_details,
        )
        spill.close()
        mixed = spill.mixed_claims()
        names = [s.path for s in summaries]
        merged = Merged(len(names), details=load.line_details)
        for done, table in enumerate(spill.partitions()):
            tell("check", done, count)
            checked = check_lines(
                [table],
                names,
                ruleset,
                context,
                lambda claims: _is_mixed(claims, mixed),
                keep_lines=False,
                details=load.line_details,
            )
            merged.add(checked)
        tell("check", count, count)
        rejects = sort_rejects(pa.concat_tables([*rejected, *merged.conflicts]))
        account(summaries, rejects, merged.checked, merged.out_of_scope)
        check_reject_rate(summaries, max_reject_rate)
        return merged.result(summaries, rejects, ruleset)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _estimate_lines(plan) -> int:
    if plan.format == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(plan.path).metadata.num_rows
    return plan.size_bytes // 80  # a typical claim line in CSV is 80-200 bytes


def _claim_hashes(claims: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    return fnv1a64(claims), fnv1a64(claims, SALT)


def _is_mixed(claims: pa.Array, mixed: set[tuple[int, int]]) -> np.ndarray:
    """Per distinct claim id: is it one of the claims seen under two patients?"""
    out = np.zeros(len(claims), dtype=bool)
    if not mixed:
        return out
    first, second = _claim_hashes(claims)
    candidates = np.flatnonzero(np.isin(first, np.array([a for a, _ in mixed], np.uint64)))
    for i in candidates:  # only claims whose first hash matched: a handful
        out[i] = (int(first[i]), int(second[i])) in mixed
    return out


class Spill:
    """The temporary partition files of pass 1."""

    def __init__(self, directory: Path, count: int) -> None:
        self.directory = directory
        self.count = count
        self.lines = [self._writer(f"lines-{i}.arrow", PARTITION_SCHEMA) for i in range(count)]
        schema = pa.schema(
            [("claim", pa.uint64()), ("salted", pa.uint64()), ("patient", pa.uint64())]
        )
        self.pairs = [self._writer(f"pairs-{i}.arrow", schema) for i in range(count)]

    def _writer(self, name: str, schema: pa.Schema) -> ipc.RecordBatchStreamWriter:
        sink = pa.OSFile(str(self.directory / name), "wb")
        return ipc.new_stream(sink, schema, options=ipc.IpcWriteOptions(compression="lz4"))

    def add(self, lines: pa.Table) -> None:
        """Write one normalized batch to the partitions of its patients and claims."""
        table = _fixed_schema(lines)
        if not table.num_rows:
            return
        patient = as_dictionary(single_chunk(table.column("patient_id")))
        claim = as_dictionary(single_chunk(table.column("claim_id")))
        patient_hash = fnv1a64(patient.dictionary)[np.asarray(patient.indices)]
        first, second = _claim_hashes(claim.dictionary)
        claim_ids = np.asarray(claim.indices)
        self._scatter(self.lines, table, patient_hash % np.uint64(self.count))
        pairs = pd.DataFrame(
            {"claim": first[claim_ids], "salted": second[claim_ids], "patient": patient_hash}
        ).drop_duplicates()
        pair_table = pa.Table.from_pandas(pairs, preserve_index=False)
        self._scatter(self.pairs, pair_table, pairs["claim"].to_numpy() % np.uint64(self.count))

    @staticmethod
    def _scatter(writers, table: pa.Table, partition: np.ndarray) -> None:
        order = np.argsort(partition, kind="stable")
        counts = np.bincount(partition.astype(np.int64), minlength=len(writers))
        ordered = table.take(pa.array(order))
        start = 0
        for writer, count in zip(writers, counts, strict=True):
            if count:
                writer.write_table(ordered.slice(start, count))
            start += count

    def close(self) -> None:
        for writer in (*self.lines, *self.pairs):
            writer.close()

    def mixed_claims(self) -> set[tuple[int, int]]:
        """Claims (as hash pairs) that appear under more than one patient anywhere in the run."""
        mixed: set[tuple[int, int]] = set()
        for i in range(self.count):
            pairs = self._read(f"pairs-{i}.arrow").to_pandas().drop_duplicates()
            patients = pairs.groupby(["claim", "salted"])["patient"].nunique()
            mixed |= {(int(a), int(b)) for a, b in patients[patients > 1].index}
        return mixed

    def partitions(self):
        for i in range(self.count):
            table = self._read(f"lines-{i}.arrow")
            (self.directory / f"lines-{i}.arrow").unlink()
            if table.num_rows:
                yield table

    def _read(self, name: str) -> pa.Table:
        with pa.memory_map(str(self.directory / name)) as source:
            return ipc.open_stream(source).read_all()


def _fixed_schema(lines: pa.Table) -> pa.Table:
    """A batch's lines in the partition schema: diagnosis columns joined, extras dropped."""
    joined = join_diagnoses(lines)
    columns = {}
    for field in PARTITION_SCHEMA:
        if field.name == "diagnosis_codes.0":
            columns[field.name] = joined.cast(field.type)
        elif field.name in lines.column_names:
            columns[field.name] = single_chunk(lines.column(field.name)).cast(field.type)
        else:
            columns[field.name] = pa.nulls(lines.num_rows, field.type)
    return pa.table(columns, schema=PARTITION_SCHEMA)


class Merged:
    """Partition results summed into one run's."""

    def __init__(self, files: int, details: bool = False) -> None:
        self.details = details
        """The partitions' findings carry line details (LINE_DETAIL_FIELDS)."""
        self.findings: list[pa.Table] = []
        self.conflicts: list[pa.Table] = []
        self.checked = np.zeros(files, dtype=np.int64)
        self.out_of_scope = np.zeros(files, dtype=np.int64)
        self.counts = LineCounts({}, {}, 0, 0, 0.0)

    def add(self, part: Checked) -> None:
        if len(part.findings):  # kept dictionary-encoded: one copy of each policy reference
            table = encoded_table(part.findings)
            if self.details:
                for name, column in detail_columns(part.findings).items():
                    table = table.append_column(name, column)
            self.findings.append(table)
        self.conflicts.append(part.conflicts)
        self.checked += part.checked
        self.out_of_scope += part.out_of_scope
        self.counts = self.counts.plus(part.counts)

    def result(self, summaries, rejects, ruleset: RuleSet) -> RunResult:
        if self.findings:
            held = [pa.concat_tables(self.findings)]
            self.findings.clear()
            # Arrow-backed columns: a large run's findings stay as compact as the Arrow table.
            findings = findings_frame(order_findings_table(held))
            if self.details:
                findings = details_as_objects(findings)
        else:
            findings = empty_findings(self.details)
        return RunResult.of(findings, rejects, summaries, self.counts, ruleset.rules)
