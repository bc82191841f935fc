"""One lint run: read -> normalize/validate -> derive context -> evaluate rules.

Reporters and the CLI receive a `RunResult`; nothing here formats output.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.arrow_utils import as_dictionary
from igrt_edits.context import (
    SETTING_NAMES,
    ContextOptions,
    derive_component,
    derive_scheme,
    derive_setting,
    in_scope,
)
from igrt_edits.engine import RuleSet, find_issues
from igrt_edits.errors import RejectRateError
from igrt_edits.lines import ENGINE_COLUMNS
from igrt_edits.normalize import (
    DIAGNOSIS_SPLIT,
    REJECT_SCHEMA,
    Part,
    combine_token_columns,
    normalize_extract,
)
from igrt_edits.readers import discover, read_extract


@dataclass(frozen=True)
class LoadOptions:
    """How to read the inputs."""

    user_map: dict[str, str | list[str]] = field(default_factory=dict)
    delimiter: str | None = None
    passthrough: bool = False


@dataclass
class FileSummary:
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
    lines: pa.Table
    """Checked (in-scope, accepted) lines with derived context, for annotated outputs."""
    setting_unknown: int
    settings_seen: dict[str, int]
    schemes_seen: dict[str, int]
    rules_skipped: dict[str, str]
    patients_checked: int
    claims_checked: int
    wall_seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_checked", "rows_rejected", "rows_out_of_scope")
        return {k: sum(f.accounting()[k] for f in self.files) for k in keys}


def lint(
    paths: Sequence[str],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions = LoadOptions(),
    max_reject_rate: float | None = None,
) -> RunResult:
    """Lint every line of the given files, directories or globs together."""
    started = time.perf_counter()
    files, skipped = discover(paths)
    parts: list[Part] = []
    summaries: list[FileSummary] = []
    for index, path in enumerate(files):
        extract = read_extract(
            path, user_map=load.user_map, delimiter=load.delimiter, passthrough=load.passthrough
        )
        part = normalize_extract(extract, index)
        parts.append(part)
        summaries.append(
            FileSummary(
                str(path),
                extract.format,
                extract.size_bytes,
                extract.rows_read,
                has_diagnosis=part.has_diagnosis,
            )
        )
    table = _concat([p.lines for p in parts])
    rejects = [p.rejects for p in parts]
    table, conflicts = reject_conflicts(table, [s.path for s in summaries])
    rejects.append(conflicts)
    rejected = pa.concat_tables(rejects).sort_by(
        [("source_file", "ascending"), ("source_row", "ascending")]
    )
    table = _with_context(table, context, [p.has_diagnosis for p in parts])
    scoped = table.column("_in_scope").to_numpy()
    _account(summaries, table, rejected, scoped)
    _check_reject_rate(summaries, max_reject_rate)
    checked = table.filter(pa.array(scoped))
    frame = engine_frame(checked, ruleset, [s.path for s in summaries])
    findings = find_issues(frame, ruleset)
    return RunResult(
        findings=findings,
        rejects=rejected,
        files=summaries,
        skipped_files=[str(p) for p in skipped],
        lines=checked,
        setting_unknown=int((checked.column("setting").to_numpy(zero_copy_only=False) == "").sum()),
        settings_seen=_counts(checked.column("setting")),
        schemes_seen=_counts(checked.column("scheme")),
        rules_skipped=_rules_skipped(ruleset, parts),
        patients_checked=_distinct(checked.column("patient_id")),
        claims_checked=_distinct(checked.column("claim_id")),
        wall_seconds=time.perf_counter() - started,
    )


def _concat(tables: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.unify_dictionaries().combine_chunks()


def reject_conflicts(table: pa.Table, file_names: list[str]) -> tuple[pa.Table, pa.Table]:
    """Reject every line of a claim under two patient ids, and every repeated claim line."""
    claim = np.asarray(as_dictionary(table.column("claim_id")).indices, dtype=np.int64)
    patient = np.asarray(as_dictionary(table.column("patient_id")).indices, dtype=np.int64)
    line = table.column("line_number").to_numpy()
    owner = np.full(claim.max() + 1 if len(claim) else 0, -1, dtype=np.int64)
    owner[claim] = patient
    mixed_claim = np.zeros(len(owner), dtype=bool)
    mixed_claim[claim[owner[claim] != patient]] = True
    mixed = mixed_claim[claim]
    key = claim * (int(line.max()) + 1 if len(line) else 1) + line
    repeated = pd.Series(key).duplicated(keep=False).to_numpy() & ~mixed
    bad = mixed | repeated
    rows = np.flatnonzero(bad)
    reason = np.where(
        mixed[rows],
        "claim_id appears under more than one patient_id (an input error: every line of the"
        " claim is rejected)",
        "claim_id + line_number appears more than once (every copy is rejected)",
    )
    file_index = table.column("_file").to_numpy()[rows]
    rejects = pa.table(
        {
            "source_file": pa.array(np.asarray(file_names, dtype=object)[file_index], pa.string())
            if len(rows)
            else pa.array([], pa.string()),
            "source_row": pa.array(table.column("_row").to_numpy()[rows], pa.int64()),
            "claim_id": table.column("claim_id").take(pa.array(rows)).cast(pa.string()),
            "line_number": pa.array(line[rows].astype(str), pa.string()),
            "column": pa.array(np.where(mixed[rows], "patient_id", "line_number"), pa.string()),
            "reason": pa.array(reason, pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    return table.filter(pa.array(~bad)), rejects


def _with_context(table: pa.Table, context: ContextOptions, has_dx: list[bool]) -> pa.Table:
    setting = derive_setting(table)
    table = table.append_column("setting_derived", pa.array(SETTING_NAMES[setting], pa.string()))
    table = table.append_column(
        "scheme", pa.array(derive_scheme(table, setting, context), pa.string())
    )
    table = table.append_column("component", pa.array(derive_component(table), pa.string()))
    table = table.append_column("_in_scope", pa.array(in_scope(table, context)))
    dx_known = np.asarray(has_dx, dtype=bool)[table.column("_file").to_numpy()] if has_dx else []
    table = table.append_column("diagnosis_known", pa.array(dx_known, pa.bool_()))
    names = [n for n in table.column_names if n != "setting"]
    table = table.select(names)
    return table.rename_columns(["setting" if n == "setting_derived" else n for n in names])


def _account(summaries: list[FileSummary], table: pa.Table, rejects: pa.Table, scoped) -> None:
    file_index = table.column("_file").to_numpy()
    out_of_scope = np.bincount(file_index[~scoped], minlength=len(summaries))
    checked = np.bincount(file_index[scoped], minlength=len(summaries))
    rejected = pd.Series(rejects.column("source_file").to_pylist()).value_counts()
    for i, summary in enumerate(summaries):
        summary.rows_out_of_scope = int(out_of_scope[i])
        summary.rows_checked = int(checked[i])
        summary.rows_rejected = int(rejected.get(summary.path, 0))


def _check_reject_rate(summaries: list[FileSummary], limit: float | None) -> None:
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


def engine_frame(checked: pa.Table, ruleset: RuleSet, file_names: list[str]) -> pd.DataFrame:
    """The lines rules can see, as the engine's DataFrame.

    Lines whose code no rule uses are dropped, except those that carry diagnoses for a claim,
    or treatment tags for a patient-day, that has a line some rule uses.
    """
    code = as_dictionary(checked.column("procedure_code"))
    wanted = pc.is_in(
        code.dictionary, value_set=pa.array(sorted(relevant_codes(ruleset)), pa.string())
    )
    relevant = np.asarray(pc.fill_null(pc.take(wanted, pc.fill_null(code.indices, 0)), False))
    relevant &= np.asarray(code.is_valid())
    keep = relevant | _context_carriers(checked, relevant)
    subset = checked.filter(pa.array(keep))
    dx_columns = [n for n in subset.column_names if n.startswith("diagnosis_codes.")]
    if dx_columns:
        diagnoses = combine_token_columns(
            [as_dictionary(subset.column(n)) for n in dx_columns], DIAGNOSIS_SPLIT
        )
    else:
        diagnoses = pa.nulls(subset.num_rows, pa.string())
    columns = {
        "claim_id": subset.column("claim_id"),
        "line_number": subset.column("line_number"),
        "patient_id": subset.column("patient_id"),
        "service_date": subset.column("service_date"),
        "procedure_code": subset.column("procedure_code"),
        "modifiers": subset.column("modifiers"),
        "units": subset.column("units"),
        "diagnosis_codes": diagnoses,
        "diagnosis_known": subset.column("diagnosis_known"),
        "setting": subset.column("setting"),
        "scheme": subset.column("scheme"),
        "component": subset.column("component"),
        "beam_modality": subset.column("beam_modality"),
        "treatment_indicators": subset.column("treatment_indicators"),
        "source_file": pa.array(
            np.asarray(file_names, dtype=object)[subset.column("_file").to_numpy()]
            if subset.num_rows
            else [],
            pa.string(),
        ),
        "source_row": subset.column("_row"),
    }
    frame = pa.table(columns).to_pandas(date_as_object=False)
    return frame[list(ENGINE_COLUMNS)]


def _context_carriers(checked: pa.Table, relevant: np.ndarray) -> np.ndarray:
    """Lines with diagnoses in a claim, or tags on a patient-day, that has a relevant line."""
    if not relevant.any():
        return np.zeros(len(relevant), dtype=bool)
    claim = np.asarray(as_dictionary(checked.column("claim_id")).indices, dtype=np.int64)
    has_claim = np.zeros(claim.max() + 1, dtype=bool)
    has_claim[claim[relevant]] = True
    dx_columns = [n for n in checked.column_names if n.startswith("diagnosis_codes.")]
    has_dx = np.zeros(len(relevant), dtype=bool)
    for name in dx_columns:
        has_dx |= np.asarray(checked.column(name).is_valid())
    carriers = has_claim[claim] & has_dx
    patient = np.asarray(as_dictionary(checked.column("patient_id")).indices, dtype=np.int64)
    day = checked.column("service_date").cast(pa.int32()).to_numpy()
    tags = np.asarray(checked.column("treatment_indicators").is_valid())
    if tags.any():
        key = patient * (int(day.max() - day.min()) + 1) + (day - day.min())
        day_key, _ = pd.factorize(key)
        has_day = np.zeros(day_key.max() + 1, dtype=bool)
        has_day[day_key[relevant]] = True
        return carriers | (tags & has_day[day_key])
    return carriers


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    values = pd.Series(column.to_numpy(zero_copy_only=False)).replace("", "unknown")
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def _distinct(column: pa.ChunkedArray) -> int:
    return len(pc.unique(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)))


def _rules_skipped(ruleset: RuleSet, parts: list[Part]) -> dict[str, str]:
    if any(p.has_diagnosis for p in parts) or not parts:
        return {}
    return {
        rule.id: "no diagnosis column in any input file"
        for rule in ruleset.rules
        if rule.kind.name == "indication"
    }
