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
from igrt_edits.rules.build import dictionary_ranks, pending_findings
from igrt_edits.rules.kinds.base import RunOptions
from igrt_edits.rules.lines import Lines
from igrt_edits.util.arrow import append_texts, from_series, single_chunk
from igrt_edits.util.memory import release_freed_memory

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
    "patient_id",
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
LINE_DETAIL_COLUMNS = ("provider_id", "charge_amount")
"""The flagged line's provider and charge: columns a run adds after the contract's fields
when asked for line details (the analyst reports show them; other outputs do not)."""
LINE_DETAIL_SCHEMA = pa.schema([("provider_id", pa.string()), ("charge_amount", pa.float64())])
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


def empty_findings(details: bool = False) -> pd.DataFrame:
    """No findings, in the contract's columns (and the line details' with `details`)."""
    findings = pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in FINDING_COLUMNS})
    if details:
        findings["provider_id"] = pd.Series(dtype=object)
        findings["charge_amount"] = pd.Series(dtype=float)
    return findings


def findings_table(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow, in the fixed schema whatever the DataFrame's dtypes."""
    return encoded_table(findings).cast(FINDINGS_SCHEMA)


def _dtype(column: str) -> str:
    return "int64" if column in ("line_number", "source_row") else "object"


def find_issues(frame: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Findings for normalized lines holding whole patients (see lines.ENGINE_COLUMNS).

    The findings are in the contract's order, backed by Arrow arrays (see `findings_frame`).
    """
    return run_rules([frame], ruleset).findings


@dataclass(frozen=True)
class Outcome:
    """What the rules found in one set of lines."""

    findings: pd.DataFrame
    charges_flagged: float
    """Sum of charge_amount over the distinct flagged lines (0 without the column)."""


def run_rules(frames: list[pd.DataFrame], ruleset: RuleSet, details: bool = False) -> Outcome:
    """`find_issues` of the one frame in `frames`, taken out of the list, with the flagged
    charges; with `details`, each finding carries its line's provider and charge
    (LINE_DETAIL_COLUMNS, after the contract's).

    The texts made per finding (claim ids, related lines, messages, fingerprints) are made
    once the lines are let go: when nothing else holds the frame, the lines and the findings
    are never in memory together.
    """
    frame = frames.pop()
    if frame.empty or not ruleset.rules:
        return Outcome(empty_findings(details), 0.0)
    lines = Lines(frame)
    del frame
    pending, rows, ranks = [], [], []
    for rank, rule in sorted_rules(ruleset):
        hits = rule.kind.find(lines, ruleset.options)
        if len(hits.rows):
            found, flagged = pending_findings(rule, hits, lines)
            if details:
                found.columns |= _line_details(lines.frame, flagged)
            pending.append(found)
            rows.append(flagged)
            ranks.append(np.full(len(flagged), rank, dtype=np.int32))
        del hits
    if not pending:
        return Outcome(empty_findings(details), 0.0)
    flagged = np.zeros(lines.n, dtype=bool)
    for positions in rows:
        flagged[positions] = True
    charges = _flagged_charges(lines, np.flatnonzero(flagged))
    del flagged
    del lines, rows
    release_freed_memory()
    claims = pending[0].claim.dictionary  # every rule's claim ids index the lines' claims
    claim = np.concatenate([np.asarray(p.claim.indices) for p in pending])
    line = np.concatenate([p.line for p in pending])
    order = np.lexsort((np.concatenate(ranks), line, dictionary_ranks(claim, claims)))
    del claim, line
    parts = []
    while pending:
        parts.append(pa.table(pending.pop(0).finish()))
    held = [pa.concat_tables(parts)]
    del parts
    findings = findings_frame(take_in_order(held, order))
    return Outcome(details_as_objects(findings) if details else findings, charges)


def _line_details(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, pa.Array]:
    """The provider and charge of the lines at `rows`."""
    if "provider_id" in frame.columns:
        provider = from_series(frame["provider_id"], pa.string()).take(pa.array(rows))
    else:
        provider = pa.nulls(len(rows), pa.string())
    charge = frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)[rows]
    return {"provider_id": provider, "charge_amount": pa.array(charge, pa.float64())}


def details_as_objects(findings: pd.DataFrame) -> pd.DataFrame:
    """The providers of findings with line details as plain objects (None where missing)."""
    provider = from_series(findings["provider_id"], pa.string())
    findings["provider_id"] = provider.cast(pa.string()).to_numpy(zero_copy_only=False)
    return findings


def detail_columns(findings: pd.DataFrame) -> dict[str, pa.Array]:
    """The line details of findings that have them, as Arrow."""
    return {
        name: from_series(findings[name], LINE_DETAIL_SCHEMA.field(name).type)
        for name in LINE_DETAIL_COLUMNS
    }


def _flagged_charges(lines: Lines, rows: np.ndarray) -> float:
    """Sum of charge_amount over the flagged lines `rows` (sorted), file by file."""
    if "charge_amount" not in lines.frame.columns:
        return 0.0
    charges = lines.frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)
    files = lines.source_file.ids[rows]
    total = 0.0
    for index in range(len(lines.source_file.values)):  # one pass per input file
        chosen = rows[files == index]
        if len(chosen):
            total += float(np.nansum(charges[chosen]))
    return total


def sorted_rules(ruleset: RuleSet) -> list[tuple[int, Rule]]:
    """(rank of the rule id in string order, rule), in the rule set's order."""
    ranks = {rule_id: i for i, rule_id in enumerate(sorted({r.id for r in ruleset.rules}))}
    return [(ranks[rule.id], rule) for rule in ruleset.rules]


def take_in_order(tables: list[pa.Table], order: np.ndarray) -> pa.Table:
    """The one table in `tables` (taken out of the list) put in `order`, a column at a time:
    each column is let go once taken, so only one is ever held twice. Dictionary columns get
    one dictionary for all their chunks."""
    table, indices, columns = tables.pop(), pa.array(order), {}
    for name in table.column_names:
        chunks = table.column(name).chunks
        table = table.drop_columns([name])
        if pa.types.is_dictionary(chunks[0].type):
            joined = one_dictionary(chunks)
        else:
            joined = pa.chunked_array(chunks)
        del chunks
        columns[name] = single_chunk(joined.take(indices))
        del joined
    return pa.table(columns)


UNIFY_AT_MOST = 1 << 16
"""Dictionary entries up to which chunks are unified (repeats merged): codes, rules, dates."""


def one_dictionary(chunks: list[pa.DictionaryArray]) -> pa.DictionaryArray:
    """Dictionary chunks (taken out of the list) re-coded against one dictionary.

    Small dictionaries are unified. Large ones (the messages: mostly one per finding) are
    appended one after another instead of hashed (an entry may then repeat), each chunk let
    go once copied, so the texts are never held twice.
    """
    if len(chunks) == 1:
        return chunks.pop()
    first = chunks[0].dictionary
    if all(c.dictionary.equals(first) for c in chunks[1:]):  # one dictionary already
        indices = pa.concat_arrays([c.indices for c in chunks])
        chunks.clear()
        return pa.DictionaryArray.from_arrays(indices, first)
    if sum(len(c.dictionary) for c in chunks) <= UNIFY_AT_MOST:
        unified = pa.table({"c": pa.chunked_array(chunks)}).unify_dictionaries().column(0)
        chunks.clear()
        return single_chunk(unified)
    indices, dictionaries, offset = [], [], 0
    while chunks:
        chunk = chunks.pop(0)
        indices.append(np.asarray(chunk.indices, dtype=np.int64) + offset)
        dictionaries.append(chunk.dictionary)
        offset += len(chunk.dictionary)
        del chunk
    joined = np.concatenate(indices).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(joined), append_texts(dictionaries))


def findings_frame(table: pa.Table) -> pd.DataFrame:
    """Findings as a DataFrame over the Arrow arrays (nothing copied): text columns as
    ArrowDtype, repeated texts dictionary-encoded, numbers as numpy int64."""
    return table.to_pandas(types_mapper=_arrow_dtype)


def _arrow_dtype(kind: pa.DataType) -> pd.ArrowDtype | None:
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    return None if numeric else pd.ArrowDtype(kind)


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
