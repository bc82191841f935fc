"""The edit engine: normalized lines of whole patients in, findings out.

`find_issues` is a pure function of a pandas DataFrame, so the same code lints a whole run in
memory, one partition of a larger-than-memory run, or one bucket of patients on Spark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.rule import Catalog, Rule
from igrt_edits.rules.findings import rule_findings, text_ranks
from igrt_edits.rules.kinds.base import RunOptions
from igrt_edits.rules.lines import Lines
from igrt_edits.util.arrow import from_series, single_chunk

FINDING_COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "service_date",
    "procedure_code",
    "modifiers",
    "rule_id",
    "rule_name",
    "severity",
    "message",
    "related_lines",
    "policy_ref",
    "carc",
    "source_file",
    "source_row",
    "fingerprint",
)
FINDINGS_SCHEMA = pa.schema(
    [
        (name, pa.int64() if name in ("line_number", "source_row") else pa.string())
        for name in FINDING_COLUMNS
        if name != "related_lines"
    ]
).insert(FINDING_COLUMNS.index("related_lines"), pa.field("related_lines", pa.list_(pa.string())))
"""The findings as an Arrow table (for Parquet output and for merging partitions)."""
ENCODED_COLUMNS = (
    "service_date",
    "procedure_code",
    "modifiers",
    "rule_id",
    "rule_name",
    "severity",
    "policy_ref",
    "carc",
    "source_file",
)
"""Finding columns with few distinct values, held dictionary-encoded until written."""
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class RuleSet:
    """The rules a run applies (after selection and severity overrides) and their options."""

    rules: tuple[Rule, ...]
    options: RunOptions = field(default_factory=RunOptions)

    @staticmethod
    def build(
        catalog: Catalog,
        *,
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        severity: dict[str, str] | None = None,
        options: RunOptions | None = None,
    ) -> RuleSet:
        """Rules chosen by id or prefix (ruff-style select/ignore), with severities overridden."""
        select = [s.upper() for s in select] or [""]
        ignore = [s.upper() for s in ignore]
        chosen = []
        for rule in catalog.rules.values():
            if any(rule.id.startswith(s) for s in select) and not any(
                rule.id.startswith(s) for s in ignore
            ):
                override = (severity or {}).get(rule.id)
                chosen.append(rule.with_severity(override) if override else rule)
        return RuleSet(tuple(chosen), options or RunOptions())


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in FINDING_COLUMNS})


def findings_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow, in the fixed schema whatever the DataFrame's dtypes."""
    return encoded_table(findings).cast(FINDINGS_SCHEMA)


def _dtype(column: str) -> str:
    return "int64" if column in ("line_number", "source_row") else "object"


def find_issues(frame: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Findings for normalized lines holding whole patients (see lines.ENGINE_COLUMNS).

    The findings are in the contract's order, backed by Arrow arrays (see `findings_frame`).
    """
    if frame.empty or not ruleset.rules:
        return empty_findings()
    lines = Lines(frame)
    parts, rows, ranks = [], [], []
    for rank, rule in sorted_rules(ruleset):
        hits = rule.kind.find(lines, ruleset.options)
        if len(hits.rows):
            columns, flagged = rule_findings(rule, hits, lines)
            parts.append(columns)
            rows.append(flagged)
            ranks.append(np.full(len(flagged), rank, dtype=np.int32))
    if not parts:
        return empty_findings()
    flagged = np.concatenate(rows)
    order = np.lexsort(
        (np.concatenate(ranks), lines.line_number[flagged], text_ranks(lines.claim_id, flagged))
    )
    return findings_frame(_take_parts(parts, order))


def sorted_rules(ruleset: RuleSet) -> list[tuple[int, Rule]]:
    """(rank of the rule id in string order, rule), in the rule set's order."""
    ranks = {rule_id: i for i, rule_id in enumerate(sorted({r.id for r in ruleset.rules}))}
    return [(ranks[rule.id], rule) for rule in ruleset.rules]


def _take_parts(parts: list[dict[str, pa.Array]], order: np.ndarray) -> pa.Table:
    """The rules' finding columns joined and put in `order`, one column at a time (so only one
    column is held twice); repeated texts keep one dictionary."""
    indices = pa.array(order)
    columns = {}
    for name in FINDING_COLUMNS:
        chunks = [part.pop(name) for part in parts]
        joined = pa.chunked_array(chunks)
        if pa.types.is_dictionary(joined.type):
            joined = pa.table({name: joined}).unify_dictionaries().column(0)
        columns[name] = single_chunk(joined.take(indices))
        del chunks, joined
    return pa.table(columns)


def findings_frame(table: pa.Table) -> pd.DataFrame:
    """Findings as a DataFrame over the Arrow arrays (nothing copied): text columns as
    ArrowDtype, repeated texts dictionary-encoded, numbers as numpy int64."""
    return table.to_pandas(types_mapper=_arrow_dtype)


def _arrow_dtype(kind: pa.DataType) -> pd.ArrowDtype | None:
    return None if pa.types.is_integer(kind) else pd.ArrowDtype(kind)


def encoded_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow in the engine's columns, repeated texts dictionary-encoded.

    The arrays of Arrow-backed columns (the engine's) are taken as they are; other columns
    (a redacted patient id, findings built by hand or collected from Spark) are converted.
    """
    columns = {}
    for name in FINDING_COLUMNS:
        column = from_series(findings[name], FINDINGS_SCHEMA.field(name).type)
        if name in ENCODED_COLUMNS and not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        columns[name] = column
    return pa.table(columns)


def max_severity(severities: Iterable[str]) -> str | None:
    ranked = [s for s in severities if s in SEVERITY_RANK]
    return max(ranked, key=SEVERITY_RANK.__getitem__) if ranked else None
