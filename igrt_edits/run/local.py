"""An in-memory run: read -> normalize/validate -> derive context -> check the lines.

Also the steps a streamed run repeats per partition (`read_normalized`, `check_lines`).
Nothing here formats output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import LINE_DETAIL_FIELDS, LINE_SCHEMA
from igrt_edits.ingest.context import (
    ContextOptions,
    in_scope,
    member_ages,
    member_birth_dates,
    with_context,
)
from igrt_edits.ingest.normalize import normalize_extract
from igrt_edits.ingest.readers import ReadPlan, iter_extracts, plan_read
from igrt_edits.rules.engine import RuleSet, run_rules
from igrt_edits.rules.frame import FRAME_INPUTS, Keys, frame_inputs, take_engine_frame
from igrt_edits.run.conflicts import reject_conflicts
from igrt_edits.run.result import (
    FileSummary,
    LineCounts,
    RunResult,
    SourcePositions,
    account,
    check_reject_rate,
    sort_rejects,
)
from igrt_edits.util.arrow import coded, combine_batches, single_chunk
from igrt_edits.util.memory import release_freed_memory

LINE_STATUS = ("checked", "out_of_scope", "rejected")
Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as a run goes: "read" after each input file, "check" around the
rules (per partition when streaming). For a progress bar; must not raise."""


def quiet(stage: str, done: int, total: int) -> None:
    """The progress callback of a run nobody watches."""


@dataclass(frozen=True)
class LoadOptions:
    """How to read the inputs."""

    user_map: dict[str, str | list[str]] = field(default_factory=dict)
    delimiter: str | None = None
    passthrough: bool = False
    keep_lines: bool = False
    """Keep every line in the result (for outputs that echo input lines); costs memory."""
    line_details: bool = False
    """Give each finding its line's provider and charge (LINE_DETAIL_FIELDS)."""


BATCH_LINES = 1_000_000
"""Lines read and normalized at a time: bounds the memory raw input takes."""

NOT_READ_BY_RULES = tuple(c for c in LINE_SCHEMA.names if c not in (*FRAME_INPUTS, "age"))
"""Normalized columns that only the context reads, or only outputs echoing lines show (age and
birth date are read once more, when whole members are together: `check_lines`)."""


def read_normalized(
    plans,
    context: ContextOptions,
    on_batch: Callable[[pa.Table], None],
    progress: Progress = quiet,
    keep_lines: bool = False,
    whole: bool = False,
    batch_lines: int | None = None,
    details: bool = False,
) -> tuple[list[FileSummary], list[pa.Table]]:
    """Read, normalize and derive context for every file batch by batch.

    Each batch's lines go to `on_batch`, with their derived setting, scheme, component and
    scope; the columns only that derivation reads are dropped unless `keep_lines` (with
    `details`, the findings' line details are kept). `whole`
    parses each CSV file at once (on all cores) before cutting it into batches. Returns the
    per-file summaries (rows read, whether the file has diagnoses) and the rejects.
    """
    summaries, rejected = [], []
    for index, plan in enumerate(plans):
        summary = FileSummary(str(plan.path), plan.format, plan.size_bytes)
        summary.has_diagnosis = "diagnosis_codes" in plan.columns.families
        for extract in iter_extracts(
            plan, min(batch_lines or BATCH_LINES, BATCH_LINES), whole=whole
        ):
            part = normalize_extract(extract, index)
            if extract.positions is not None:
                summary.positions = summary.positions or SourcePositions()
                summary.positions.add(extract.source_rows, *extract.positions)
            summary.rows_read += part.rows_read
            rejected.append(part.rejects)
            kept = LINE_DETAIL_FIELDS if details else ()
            drop = () if keep_lines else tuple(n for n in NOT_READ_BY_RULES if n not in kept)
            on_batch(with_context(part.lines, context, summary.has_diagnosis, drop))
        summaries.append(summary)
        progress("read", index + 1, len(plans))
    return summaries, rejected


def plan_all(files, load: LoadOptions) -> list[ReadPlan]:
    """Read every file's header first, so a bad file stops the run before any work."""
    return [
        plan_read(
            path, user_map=load.user_map, delimiter=load.delimiter, passthrough=load.passthrough
        )
        for path in files
    ]


def lint_in_memory(files, ruleset, context, load, max_reject_rate, progress) -> RunResult:
    return lint_plans(plan_all(files, load), ruleset, context, load, max_reject_rate, progress)


def lint_plans(
    plans: Sequence[ReadPlan],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions,
    max_reject_rate: float | None = None,
    progress: Progress = quiet,
) -> RunResult:
    """Lint planned reads in memory: files, or extracts already in memory (a plan with
    `content`, as the notebook API makes of a DataFrame)."""
    lines: list[pa.Table] = []
    summaries, rejected = read_normalized(
        plans,
        context,
        lines.append,
        progress,
        load.keep_lines,
        whole=True,
        details=load.line_details,
    )
    release_freed_memory()  # what reading freed; the check allocates from Arrow's pool
    names = [s.path for s in summaries]
    progress("check", 0, 1)
    checked = check_lines(
        lines, names, ruleset, context, keep_lines=load.keep_lines, details=load.line_details
    )
    progress("check", 1, 1)
    rejects = sort_rejects(pa.concat_tables([*rejected, checked.conflicts]))
    account(summaries, rejects, checked.checked, checked.out_of_scope)
    check_reject_rate(summaries, max_reject_rate)
    return RunResult.of(
        checked.findings, rejects, summaries, checked.counts, ruleset.rules, lines=checked.lines
    )


@dataclass
class Checked:
    """What checking one set of normalized lines produced: a whole run, or one partition."""

    findings: pd.DataFrame
    conflicts: pa.Table
    lines: pa.Table | None
    checked: np.ndarray
    """Checked lines per input file."""
    out_of_scope: np.ndarray
    """Out-of-scope lines per input file."""
    counts: LineCounts


def check_lines(
    batches: list[pa.Table],
    file_names: list[str],
    ruleset: RuleSet,
    context: ContextOptions,
    mixed_claims: Callable[[pa.Array], np.ndarray] | None = None,
    keep_lines: bool = True,
    details: bool = False,
) -> Checked:
    """Check normalized lines (with context) that hold whole patients: conflicts, scope, rules.

    The lines come as normalized batches, which are combined (and the list emptied, so the
    batches can be freed as the combined table is built). Scope is decided here, where every
    line of a member is at hand (a line without age takes the member's birth date).

    `mixed_claims`, given the distinct claim ids, marks those known (from elsewhere in a
    streamed run) to appear under another patient too. Without `keep_lines` the lines are
    let go before the rules run, which lowers peak memory. With `details` the findings carry
    their lines' provider and charge.
    """
    table = combine_batches(batches)
    keys = Keys.of(table)
    mixed = mixed_claims(keys.claims) if mixed_claims is not None else None
    conflict, conflicts = reject_conflicts(table, keys, file_names, mixed)
    table, age = _member_age(table, keys, ~conflict)
    checked = in_scope(age, context) & ~conflict
    status = np.where(conflict, 2, np.where(checked, 0, 1))
    table = table.append_column("_status", coded(("", *LINE_STATUS), status + 1))
    file_index = np.asarray(single_chunk(table.column("_file")))
    files = len(file_names)
    lines = table if keep_lines else None
    per_file = np.bincount(file_index[checked], minlength=files)
    out_of_scope = np.bincount(file_index[~checked & ~conflict], minlength=files)
    settings = _counts(table.column("setting").filter(pa.array(checked)))
    schemes = _counts(table.column("scheme").filter(pa.array(checked)))
    patients, claims = _distinct(keys.patient[checked]), _distinct(keys.claim[checked])
    if not keep_lines:  # what the rules do not read can go now
        table = table.select(frame_inputs(table.column_names, details))
    held = [table]
    del table, file_index  # the frame is built from `held` alone, freeing lines as it goes
    frames = [take_engine_frame(held, keys, checked, ruleset, file_names, details)]
    del keys  # the rules need only the engine's frame, which they let go before the texts
    release_freed_memory()
    outcome = run_rules(frames, ruleset, details=details)
    counts = LineCounts(settings, schemes, patients, claims, outcome.charges_flagged)
    return Checked(outcome.findings, conflicts, lines, per_file, out_of_scope, counts)


def _member_age(table: pa.Table, keys: Keys, counted: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """(the lines with `age` the member's, that age): a line with no age of its own takes the
    birth date the member's `counted` lines agree on. The birth dates are let go."""
    service = single_chunk(table.column("service_date"))
    birth = member_birth_dates(
        keys.patient, single_chunk(table.column("patient_birth_date")), counted
    )
    own = np.asarray(single_chunk(table.column("age")), dtype=np.float32)
    age = member_ages(own, birth, service)
    table = table.drop_columns(["patient_birth_date"])
    index = table.schema.get_field_index("age")
    return table.set_column(index, "age", pa.array(age, pa.float32())), age


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(single_chunk(column)).to_pylist()
    named = {(c["values"] or "unknown"): c["counts"] for c in counts}
    return dict(sorted(named.items()))


def _distinct(keys: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(keys))) if len(keys) else 0
