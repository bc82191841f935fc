"""One lint run: read -> normalize/validate -> derive context -> evaluate rules.

Reporters and the CLI receive a `RunResult`; nothing here formats output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import RejectRateError
from igrt_edits.ingest.context import (
    COMPONENT_NAMES,
    SCHEME_NAMES,
    SETTING_NAMES,
    ContextOptions,
    derive_component,
    derive_scheme,
    derive_setting,
    in_scope,
)
from igrt_edits.ingest.normalize import (
    DIAGNOSIS_SPLIT,
    REJECT_SCHEMA,
    combine_token_columns,
    normalize_extract,
)
from igrt_edits.ingest.readers import ReadPlan, discover, iter_extracts, plan_read
from igrt_edits.rules.engine import LINE_DETAIL_COLUMNS, RuleSet, find_issues
from igrt_edits.rules.lines import ENGINE_COLUMNS, Factor, patient_day_key
from igrt_edits.util.arrow import as_dictionary, combine_batches, single_chunk, take_rows
from igrt_edits.util.grouping import block_key

LINE_STATUS = ("checked", "out_of_scope", "rejected")
Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as a run goes: "read" after each input file, "check" around the
rules (per partition when streaming). For a progress bar; must not raise."""


def _quiet(stage: str, done: int, total: int) -> None:
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
    """Give each finding its line's provider and charge (LINE_DETAIL_COLUMNS)."""


@dataclass
class FileSummary:
    """One input file: what it is and where each of its rows went."""

    path: str
    format: str
    size_bytes: int
    rows_read: int = 0
    rows_checked: int = 0
    rows_rejected: int = 0
    rows_out_of_scope: int = 0
    has_diagnosis: bool = False

    def accounting(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_checked": self.rows_checked,
            "rows_rejected": self.rows_rejected,
            "rows_out_of_scope": self.rows_out_of_scope,
        }


@dataclass
class RunResult:
    """Everything a reporter needs about a finished run."""

    findings: pd.DataFrame
    rejects: pa.Table
    files: list[FileSummary]
    skipped_files: list[str]
    lines: pa.Table | None
    """Every line that passed row checks, with derived context and `_status` (checked,
    out_of_scope, or rejected for a claim conflict); `_file`/`_row` locate it in the input."""
    setting_unknown: int
    settings_seen: dict[str, int]
    schemes_seen: dict[str, int]
    rules_skipped: dict[str, str]
    patients_checked: int
    claims_checked: int
    charges_flagged: float = 0.0
    """Sum of charge_amount over the distinct flagged lines."""
    wall_seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_checked", "rows_rejected", "rows_out_of_scope")
        return {k: sum(f.accounting()[k] for f in self.files) for k in keys}


@dataclass
class Keys:
    """Integer claim and patient ids of every line, each string hashed once."""

    claim: np.ndarray
    patient: np.ndarray
    claims: pa.Array
    patients: pa.Array

    @staticmethod
    def of(table: pa.Table) -> Keys:
        claim = as_dictionary(single_chunk(table.column("claim_id")))
        patient = as_dictionary(single_chunk(table.column("patient_id")))
        return Keys(
            np.asarray(claim.indices, dtype=np.int64),
            np.asarray(patient.indices, dtype=np.int64),
            claim.dictionary,
            patient.dictionary,
        )


def lint(
    paths: Sequence[str],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions = LoadOptions(),
    max_reject_rate: float | None = None,
    stream: bool | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Lint every line of the given files, directories or globs together.

    `stream=True` partitions the lines by patient to temporary files and checks one partition
    at a time (for inputs larger than memory); `None` streams when the inputs are large.
    """
    started = time.perf_counter()
    progress = progress or _quiet
    files, skipped = discover(paths)
    if stream or (stream is None and should_stream(files)):
        from igrt_edits.run.stream import lint_streamed

        result = lint_streamed(files, ruleset, context, load, max_reject_rate, progress=progress)
    else:
        result = _lint_in_memory(files, ruleset, context, load, max_reject_rate, progress)
    result.skipped_files = [str(p) for p in skipped]
    result.wall_seconds = time.perf_counter() - started
    return result


STREAM_ABOVE_BYTES = 2 << 30
"""Inputs larger than this (on disk) are linted in streaming mode unless told otherwise."""


def should_stream(files: Sequence) -> bool:
    return sum(path.stat().st_size for path in files) > STREAM_ABOVE_BYTES


BATCH_LINES = 1_000_000
"""Lines read and normalized at a time: bounds the memory raw input takes."""


def read_normalized(
    plans,
    context: ContextOptions,
    on_batch: Callable[[pa.Table], None],
    progress: Progress = _quiet,
    keep_lines: bool = False,
    whole: bool = False,
    batch_lines: int | None = None,
    details: bool = False,
) -> tuple[list[FileSummary], list[pa.Table], list[bool]]:
    """Read, normalize and derive context for every file batch by batch.

    Each batch's lines go to `on_batch`, with their derived setting, scheme, component and
    scope; the columns only that derivation reads are dropped unless `keep_lines` (or, with
    `details`, kept for the findings' line details). `whole`
    parses each CSV file at once (on all cores) before cutting it into batches. Returns the
    per-file summaries (rows read), the rejects and which files have diagnoses.
    """
    summaries, rejected, has_diagnosis = [], [], []
    for index, plan in enumerate(plans):
        summary = FileSummary(str(plan.path), plan.format, plan.size_bytes)
        summary.has_diagnosis = "diagnosis_codes" in plan.columns.families
        for extract in iter_extracts(
            plan, min(batch_lines or BATCH_LINES, BATCH_LINES), whole=whole
        ):
            part = normalize_extract(extract, index)
            summary.rows_read += part.rows_read
            rejected.append(part.rejects)
            lines = with_context(part.lines, context, summary.has_diagnosis, keep_lines, details)
            on_batch(lines)
        summaries.append(summary)
        has_diagnosis.append(summary.has_diagnosis)
        progress("read", index + 1, len(plans))
    return summaries, rejected, has_diagnosis


def plan_all(files, load: LoadOptions) -> list[ReadPlan]:
    """Read every file's header first, so a bad file stops the run before any work."""
    return [
        plan_read(
            path, user_map=load.user_map, delimiter=load.delimiter, passthrough=load.passthrough
        )
        for path in files
    ]


def _lint_in_memory(files, ruleset, context, load, max_reject_rate, progress) -> RunResult:
    return lint_plans(plan_all(files, load), ruleset, context, load, max_reject_rate, progress)


def lint_plans(
    plans: Sequence[ReadPlan],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions = LoadOptions(),
    max_reject_rate: float | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Lint planned reads in memory: files, or extracts already in memory (a plan with
    `content`, as the notebook API makes of a DataFrame)."""
    started = time.perf_counter()
    progress = progress or _quiet
    lines: list[pa.Table] = []
    summaries, rejected, has_diagnosis = read_normalized(
        plans,
        context,
        lines.append,
        progress,
        load.keep_lines,
        whole=True,
        details=load.line_details,
    )
    names = [s.path for s in summaries]
    progress("check", 0, 1)
    checked = check_lines(
        lines, names, ruleset, keep_lines=load.keep_lines, details=load.line_details
    )
    progress("check", 1, 1)
    rejects = sort_rejects(pa.concat_tables([*rejected, checked.conflicts]))
    account(summaries, rejects, checked.checked, checked.out_of_scope)
    check_reject_rate(summaries, max_reject_rate)
    result = checked.result(summaries, rejects, ruleset, has_diagnosis)
    result.wall_seconds = time.perf_counter() - started
    return result


@dataclass
class Checked:
    """What checking one set of normalized lines produced: a whole run, or one partition."""

    findings: pd.DataFrame | None
    conflicts: pa.Table
    lines: pa.Table | None
    checked: np.ndarray
    """Checked lines per input file."""
    out_of_scope: np.ndarray
    """Out-of-scope lines per input file."""
    settings: dict[str, int]
    schemes: dict[str, int]
    patients: int
    claims: int
    charges_flagged: float

    def result(self, summaries, rejects, ruleset: RuleSet, has_diagnosis) -> RunResult:
        return RunResult(
            findings=self.findings,
            rejects=rejects,
            files=summaries,
            skipped_files=[],
            lines=self.lines,
            setting_unknown=self.settings.get("unknown", 0),
            settings_seen=self.settings,
            schemes_seen=self.schemes,
            rules_skipped=rules_skipped(ruleset, has_diagnosis),
            patients_checked=self.patients,
            claims_checked=self.claims,
            charges_flagged=round(self.charges_flagged, 2),
        )


def check_lines(
    batches: list[pa.Table],
    file_names: list[str],
    ruleset: RuleSet,
    mixed_claims: Callable[[pa.Array], np.ndarray] | None = None,
    keep_lines: bool = True,
    details: bool = False,
) -> Checked:
    """Check normalized lines (with context) that hold whole patients: conflicts, scope, rules.

    The lines come as normalized batches, which are combined (and the list emptied, so the
    batches can be freed as the combined table is built).

    `mixed_claims`, given the distinct claim ids, marks those known (from elsewhere in a
    streamed run) to appear under another patient too. Without `keep_lines` the lines are
    let go before the rules run, which lowers peak memory. With `details` the findings carry
    their lines' provider and charge.
    """
    table = combine_batches(batches)
    keys = Keys.of(table)
    mixed = mixed_claims(keys.claims) if mixed_claims is not None else None
    conflict, conflicts = reject_conflicts(table, keys, file_names, mixed)
    checked = np.asarray(single_chunk(table.column("_in_scope"))) & ~conflict
    status = np.where(conflict, 2, np.where(checked, 0, 1))
    table = table.append_column("_status", _codes(("", *LINE_STATUS), status + 1))
    file_index = np.asarray(single_chunk(table.column("_file")))
    files = len(file_names)
    counted = Checked(
        findings=None,
        conflicts=conflicts,
        lines=table if keep_lines else None,
        checked=np.bincount(file_index[checked], minlength=files),
        out_of_scope=np.bincount(file_index[~checked & ~conflict], minlength=files),
        settings=_counts(table.column("setting").filter(pa.array(checked))),
        schemes=_counts(table.column("scheme").filter(pa.array(checked))),
        patients=_distinct(keys.patient[checked]),
        claims=_distinct(keys.claim[checked]),
        charges_flagged=0.0,
    )
    if not keep_lines:  # what the rules do not read can go now
        wanted = set(ENGINE_COLUMNS) | {"charge_amount", "_file", "_row", "provider_id"}
        table = table.select(
            [n for n in table.column_names if n in wanted or n.startswith("diagnosis_codes.")]
        )
    held = [table]
    del table, file_index  # the frame is built from `held` alone, freeing lines as it goes
    frame = take_engine_frame(held, keys, checked, ruleset, file_names, details)
    del keys  # the rules need only the engine's frame
    counted.findings = find_issues(frame, ruleset)
    counted.charges_flagged = _flagged_charges(frame, counted.findings)
    if details:
        counted.findings = with_line_details(counted.findings, frame)
    return counted


def with_line_details(findings: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """`findings` with their lines' provider_id and charge_amount (LINE_DETAIL_COLUMNS),
    looked up in the engine frame by source file and row."""
    files = Factor.of(frame["source_file"])
    frame_keys = _line_keys(files.ids, frame["source_row"])
    number = {name: i for i, name in enumerate(files.values)}
    keys = _line_keys(
        findings["source_file"].map(number).to_numpy(np.int64), findings["source_row"]
    )
    order = None if np.all(frame_keys[1:] > frame_keys[:-1]) else np.argsort(frame_keys)
    sorted_keys = frame_keys if order is None else frame_keys[order]
    at = np.searchsorted(sorted_keys, keys)
    at = at if order is None else order[at]
    out = findings.copy()
    provider = frame["provider_id"] if "provider_id" in frame.columns else None
    out["provider_id"] = (
        np.full(len(out), None, dtype=object)
        if provider is None
        else provider.iloc[at].astype(object).where(provider.iloc[at].notna(), None).to_numpy()
    )
    out["charge_amount"] = frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)[at]
    return out


def _line_keys(file_index: np.ndarray, rows: pd.Series) -> np.ndarray:
    """One int64 per (file number, row) pair."""
    return np.asarray(file_index, dtype=np.int64) * (1 << 40) + rows.to_numpy(dtype=np.int64)


def _flagged_charges(frame: pd.DataFrame, findings: pd.DataFrame) -> float:
    """Sum of charge_amount over distinct flagged lines (missing charges count as 0)."""
    if not len(findings):
        return 0.0
    files = Factor.of(frame["source_file"])
    rows = frame["source_row"].to_numpy(dtype=np.int64)
    charges = frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)
    total = 0.0
    for index, name in enumerate(files.values):  # one pass per input file
        flagged = findings.loc[findings["source_file"] == name, "source_row"].to_numpy(np.int64)
        if len(flagged):
            marked = np.zeros(max(int(rows.max()), int(flagged.max())) + 1, dtype=bool)
            marked[flagged] = True
            total += float(np.nansum(charges[(files.ids == index) & marked[rows]]))
    return total


def sort_rejects(rejects: pa.Table) -> pa.Table:
    return rejects.sort_by([("source_file", "ascending"), ("source_row", "ascending")])


MIXED_CLAIM_REASON = (
    "claim_id appears under more than one patient_id (an input error: every line of the"
    " claim is rejected)"
)
REPEATED_LINE_REASON = "claim_id + line_number appears more than once (every copy is rejected)"


def reject_conflicts(
    table: pa.Table, keys: Keys, file_names: list[str], mixed_claims: np.ndarray | None = None
) -> tuple[np.ndarray, pa.Table]:
    """Rows to reject: every line of a claim under two patient ids, and every repeated line."""
    claim, patient = keys.claim, keys.patient
    line = np.asarray(single_chunk(table.column("line_number")), dtype=np.int64)
    owner = np.full(len(keys.claims), -1, dtype=np.int64)
    owner[claim] = patient
    mixed_claim = np.zeros(len(keys.claims), dtype=bool)
    mixed_claim[claim[owner[claim] != patient]] = True
    if mixed_claims is not None:
        mixed_claim |= mixed_claims
    mixed = mixed_claim[claim]
    repeated = repeated_lines(claim, line) & ~mixed
    bad = mixed | repeated
    rows = np.flatnonzero(bad)
    reason = np.where(mixed[rows], MIXED_CLAIM_REASON, REPEATED_LINE_REASON)
    file_index = np.asarray(single_chunk(table.column("_file")))[rows]
    rejects = pa.table(
        {
            "source_file": pa.array(np.asarray(file_names, dtype=object)[file_index], pa.string()),
            "source_row": pa.array(np.asarray(single_chunk(table.column("_row")))[rows]),
            "claim_id": keys.claims.take(pa.array(claim[rows])).cast(pa.string()),
            "line_number": pa.array(line[rows].astype(str), pa.string()),
            "column": pa.array(np.where(mixed[rows], "patient_id", "line_number"), pa.string()),
            "reason": pa.array(reason, pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    return bad, rejects


def repeated_lines(claim: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Lines whose (claim, line number) pair occurs more than once, every copy marked."""
    count = len(claim)
    key = block_key(claim, line, limit=4 * count + (1 << 20))
    if key is None:  # line numbers spread too thinly to index: hash the pairs
        pairs = claim.astype(np.int64) * (int(line.max()) + 1) + line
        return pd.Series(pairs).duplicated(keep=False).to_numpy()
    size = int(key.max()) + 1 if count else 0
    # Scatter each line's position to its key: where lines share a key only one position
    # stays, so a line that does not find itself there is a repeat, and so is its key.
    position = np.arange(count, dtype=np.int64)
    kept = np.empty(size, dtype=np.int64)
    kept[key] = position
    shared = np.zeros(size, dtype=bool)
    shared[key[kept[key] != position]] = True
    return shared[key]


def _codes(names: tuple[str, ...], codes: np.ndarray) -> pa.DictionaryArray:
    """Small integer codes as a dictionary column; code 0 (unknown) becomes null."""
    indices = pa.array(codes.astype(np.int32) - 1, mask=codes == 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names[1:], pa.string()))


NOT_READ_BY_RULES = (
    "claim_type",
    "bill_type",
    "place_of_service",
    "payer",
    "line_of_business",
    "age",
    "provider_id",
)
"""Normalized columns that only the context reads, or only outputs echoing lines show."""


def with_context(
    table: pa.Table,
    context: ContextOptions,
    has_diagnosis: bool,
    keep_lines: bool = True,
    details: bool = False,
) -> pa.Table:
    """Add the derived setting, scheme, component, scope and diagnosis-column flag.

    Without `keep_lines` the columns only the derivation reads are dropped (but for the
    findings' line details, with `details`)."""
    setting = derive_setting(table)
    scheme = derive_scheme(table, setting, context)
    derived = {
        "setting": _codes(SETTING_NAMES, setting),
        "scheme": _codes(SCHEME_NAMES, scheme),
        "component": _codes(COMPONENT_NAMES, derive_component(table)),
        "_in_scope": pa.array(in_scope(table, context)),
        "diagnosis_known": pa.array(np.full(table.num_rows, has_diagnosis)),
    }
    kept = LINE_DETAIL_COLUMNS if details else ()
    drop = (
        ["setting"] if keep_lines else ["setting", *(n for n in NOT_READ_BY_RULES if n not in kept)]
    )
    table = table.drop_columns([n for n in drop if n in table.column_names])
    for name, values in derived.items():
        table = table.append_column(name, values)
    return table


def account(summaries, rejects: pa.Table, checked: np.ndarray, out_of_scope: np.ndarray) -> None:
    """Fill in each file's row accounting from per-file counts and the rejects."""
    rejected = pd.Series(rejects.column("source_file").to_pylist(), dtype=object).value_counts()
    for i, summary in enumerate(summaries):
        summary.rows_out_of_scope = int(out_of_scope[i])
        summary.rows_checked = int(checked[i])
        summary.rows_rejected = int(rejected.get(summary.path, 0))


def check_reject_rate(summaries: list[FileSummary], limit: float | None) -> None:
    read = sum(s.rows_read for s in summaries)
    rejected = sum(s.rows_rejected for s in summaries)
    if limit is not None and read and rejected / read > limit:
        raise RejectRateError(
            f"{rejected} of {read} rows rejected ({rejected / read:.1%}), above the limit of"
            f" {limit:.1%} (--max-reject-rate); see the rejects output for reasons"
        )


def relevant_codes(ruleset: RuleSet) -> frozenset[str]:
    codes: set[str] = set()
    for rule in ruleset.rules:
        for line_class in rule.kind.classes():
            codes |= line_class.codes
    return frozenset(codes)


def engine_frame(
    table: pa.Table, keys: Keys, checked: np.ndarray, ruleset: RuleSet, file_names: list[str]
) -> pd.DataFrame:
    """The checked lines rules can see, as the engine's DataFrame (Arrow-backed, text not copied).

    Lines whose code no rule uses are dropped, except those that carry diagnoses for a claim,
    or treatment tags for a patient-day, that has a line some rule uses.
    """
    return take_engine_frame([table], keys, checked, ruleset, file_names)


def take_engine_frame(
    lines: list[pa.Table],
    keys: Keys,
    checked: np.ndarray,
    ruleset: RuleSet,
    file_names: list[str],
    details: bool = False,
) -> pd.DataFrame:
    """`engine_frame` of the one table in `lines`, taken out of the list (with `details`, and
    the lines' provider_id, after the engine's columns).

    When nothing else holds the table, each of its columns is freed once copied into the
    frame, so the lines are not held twice (at 10M lines, 0.6 GB less at the peak).
    """
    table = lines.pop()
    rows, day = _kept_rows(table, keys, checked, ruleset)
    replaced = ("claim_id", "patient_id")  # rebuilt from the keys below
    needed = [
        n
        for n in table.column_names
        if (n in ENGINE_COLUMNS and n not in replaced)
        or n in ("charge_amount", "_file", "_row")
        or (details and n == "provider_id")
        or n.startswith("diagnosis_codes.")
    ]
    held = [table.select(needed)]
    del table  # now only `held` has the lines, so taking them frees them
    subset = _take_columns(held, rows)
    dx_columns = [n for n in subset.column_names if n.startswith("diagnosis_codes.")]
    if dx_columns:
        parts = [as_dictionary(single_chunk(subset.column(n))) for n in dx_columns]
        diagnoses = combine_token_columns(parts, DIAGNOSIS_SPLIT)
    else:
        diagnoses = pa.nulls(subset.num_rows, pa.dictionary(pa.int32(), pa.string()))
    file_index = np.asarray(single_chunk(subset.column("_file"))).astype(np.int32)
    claim, patient = keys.claim.take(rows), keys.patient.take(rows)
    columns = {name: subset.column(name) for name in ENGINE_COLUMNS if name in subset.column_names}
    columns |= {
        "claim_id": pa.DictionaryArray.from_arrays(pa.array(claim.astype(np.int32)), keys.claims),
        "patient_id": pa.DictionaryArray.from_arrays(
            pa.array(patient.astype(np.int32)), keys.patients
        ),
        "diagnosis_codes": diagnoses,
        "source_file": pa.DictionaryArray.from_arrays(
            pa.array(file_index), pa.array(file_names, pa.string())
        ),
        "source_row": subset.column("_row"),
        "_claim_key": pa.array(claim),
        "_day_key": pa.array(day.take(rows)),
    }
    columns["charge_amount"] = subset.column("charge_amount")
    ordered = [*ENGINE_COLUMNS, "_claim_key", "_day_key", "charge_amount"]
    if "provider_id" in needed:
        columns["provider_id"] = subset.column("provider_id")
        ordered.append("provider_id")
    return pa.table({name: columns[name] for name in ordered}).to_pandas(types_mapper=pd.ArrowDtype)


def _kept_rows(
    table: pa.Table, keys: Keys, checked: np.ndarray, ruleset: RuleSet
) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the checked lines some rule can see, every line's patient-day key)."""
    code = as_dictionary(single_chunk(table.column("procedure_code")))
    wanted = pc.is_in(
        code.dictionary, value_set=pa.array(sorted(relevant_codes(ruleset)), pa.string())
    )
    relevant = (
        np.append(np.asarray(pc.fill_null(wanted, False)), False)[
            np.asarray(pc.fill_null(code.indices, len(code.dictionary)))
        ]
        & checked
    )
    day = patient_day_key(keys.patient, _days(table))
    keep = relevant | (_context_carriers(table, keys.claim, day, relevant) & checked)
    return np.flatnonzero(keep), day


def _take_columns(tables: list[pa.Table], rows: np.ndarray) -> pa.Table:
    """The one table in `tables` cut to `rows`, each column let go once taken."""
    table, taken = tables.pop(), {}
    for name in table.column_names:
        taken[name] = take_rows(single_chunk(table.column(name)), rows)
        table = table.drop_columns([name])
    return pa.table(taken)


def _days(table: pa.Table) -> np.ndarray:
    return np.asarray(single_chunk(table.column("service_date")).cast(pa.int32()), np.int64)


def _context_carriers(
    table: pa.Table, claim: np.ndarray, day: np.ndarray, relevant: np.ndarray
) -> np.ndarray:
    """Lines with diagnoses in a claim, or tags on a patient-day, that has a relevant line."""
    carriers = np.zeros(len(relevant), dtype=bool)
    if not relevant.any():
        return carriers
    dx_columns = [n for n in table.column_names if n.startswith("diagnosis_codes.")]
    has_dx = np.zeros(len(relevant), dtype=bool)
    for name in dx_columns:
        has_dx |= np.asarray(single_chunk(table.column(name)).is_valid())
    tags = np.asarray(single_chunk(table.column("treatment_indicators")).is_valid())
    for key, carries in ((claim, has_dx), (day, tags)):
        if carries.any():
            wanted = np.zeros(int(key.max()) + 1, dtype=bool)
            wanted[key[relevant]] = True
            carriers |= carries & wanted[key]
    return carriers


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(single_chunk(column)).to_pylist()
    named = {(c["values"] or "unknown"): c["counts"] for c in counts}
    return dict(sorted(named.items()))


def _distinct(keys: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(keys))) if len(keys) else 0


def rules_skipped(ruleset: RuleSet, has_diagnosis: list[bool]) -> dict[str, str]:
    if any(has_diagnosis) or not has_diagnosis:
        return {}
    return {
        rule.id: "no diagnosis column in any input file"
        for rule in ruleset.rules
        if rule.kind.name == "indication"
    }
