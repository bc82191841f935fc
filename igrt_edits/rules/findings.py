"""The findings as a frame: empty, in the contract's order, as Arrow, with plain column types.

Every engine (in memory, per partition, per Spark bucket) and every reporter orders and
converts findings through these functions, so the contract's order and schema are applied in
one way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import (
    FINDING_FIELDS,
    FINDINGS_ORDER,
    FINDINGS_SCHEMA,
    LINE_DETAIL_FIELDS,
    LINE_DETAIL_SCHEMA,
)
from igrt_edits.util.arrow import append_texts, from_series, single_chunk

INTEGER_FIELDS = frozenset(f.name for f in FINDINGS_SCHEMA if pa.types.is_integer(f.type))
ENCODED_FIELDS = (
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
"""Finding fields with few distinct values, held dictionary-encoded until written."""


def empty_findings(details: bool = False) -> pd.DataFrame:
    """No findings, in the contract's fields (and the line details' with `details`)."""
    findings = pd.DataFrame(
        {c: pd.Series(dtype="int64" if c in INTEGER_FIELDS else "object") for c in FINDING_FIELDS}
    )
    if details:
        findings["provider_id"] = pd.Series(dtype=object)
        findings["charge_amount"] = pd.Series(dtype=float)
    return findings


def order_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in the contract's order (FINDINGS_ORDER), with its fields in its order.

    Findings with only some fields (collected from an engine that wrote the rest itself) keep
    those; line details (LINE_DETAIL_FIELDS), when the run added them, follow.
    """
    columns = [c for c in (*FINDING_FIELDS, *LINE_DETAIL_FIELDS) if c in findings.columns]
    if findings.empty or in_contract_order(findings):  # the engines' findings come in order
        return findings[columns].reset_index(drop=True)
    keys = [
        findings[c].to_numpy(dtype=np.int64 if c in INTEGER_FIELDS else str)
        for c in reversed(FINDINGS_ORDER)
    ]
    return findings.iloc[np.lexsort(keys)][columns].reset_index(drop=True)


def in_contract_order(findings: pd.DataFrame) -> bool:
    """Whether each finding sorts at or after the one before (FINDINGS_ORDER: claim id, line
    number, rule id); one vector comparison per key, no sort."""
    claim = text_column(findings["claim_id"])
    line = findings["line_number"].to_numpy(dtype=np.int64)
    rules = pc.dictionary_encode(text_column(findings["rule_id"]))
    rank = np.empty(len(rules.dictionary), dtype=np.int64)
    rank[np.asarray(pc.sort_indices(rules.dictionary))] = np.arange(len(rank))
    rule = rank[np.asarray(pc.fill_null(rules.indices, 0))]
    before, after = claim.slice(0, len(claim) - 1), claim.slice(1)
    less = np.asarray(pc.fill_null(pc.less(before, after), False))
    same = np.asarray(pc.fill_null(pc.equal(before, after), False))
    same_line = line[:-1] == line[1:]
    later = (line[:-1] < line[1:]) | (same_line & (rule[:-1] <= rule[1:]))
    return bool(np.all(less | (same & later)))


def text_column(series: pd.Series) -> pa.Array:
    """A text column of the findings as one plain Arrow string array (a dictionary decoded)."""
    column = from_series(series, pa.string())
    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column


def order_findings_table(tables: list[pa.Table]) -> pa.Table:
    """The one Arrow table of findings in `tables` (taken out of the list) in the contract's
    order (dictionary columns allowed), a column at a time (see `take_in_order`)."""
    keys = pa.schema([FINDINGS_SCHEMA.field(c) for c in FINDINGS_ORDER])
    order = pc.sort_indices(
        tables[0].select(list(FINDINGS_ORDER)).cast(keys),
        [(c, "ascending") for c in FINDINGS_ORDER],
    )
    return take_in_order(tables, np.asarray(order))


def to_arrow(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow, in the contract's schema whatever the DataFrame's dtypes (the
    engines' Arrow-backed columns taken as they are, see `encoded_table`)."""
    return encoded_table(findings).cast(FINDINGS_SCHEMA)


def plain_findings(
    findings: pd.DataFrame | pa.Table, names: Sequence[str] = FINDING_FIELDS
) -> pd.DataFrame:
    """Findings (all fields, or `names`) with numpy int64 and object columns only.

    Spark's Arrow conversion fails on pandas `string` columns (the dtype pandas 3 infers for
    text) and on Arrow-backed ones; int64 and object columns convert on every pandas version,
    and are what a local run's findings hold.
    """
    arrow = isinstance(findings, pa.Table)

    def column(name: str) -> pd.Series:
        values = findings.column(name) if arrow else findings[name]
        if name in INTEGER_FIELDS:
            return pd.Series(np.asarray(values.to_numpy(), dtype=np.int64), dtype=np.int64)
        # An explicit dtype: pandas 3 would infer its string dtype even from an object array.
        text = values.to_pylist() if arrow else values.to_numpy(dtype=object)
        return pd.Series(text, dtype=object)

    return pd.DataFrame({name: column(name) for name in names})


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
    """Findings as Arrow in the contract's fields, repeated texts dictionary-encoded.

    The arrays of Arrow-backed columns (the engine's) are taken as they are; other columns
    (a redacted patient id, findings built by hand or collected from Spark) are converted.
    """
    columns = {}
    for name in FINDING_FIELDS:
        column = from_series(findings[name], FINDINGS_SCHEMA.field(name).type)
        if name in ENCODED_FIELDS and not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        columns[name] = column
    return pa.table(columns)


def details_as_objects(findings: pd.DataFrame) -> pd.DataFrame:
    """The providers of findings with line details as plain objects (None where missing)."""
    provider = from_series(findings["provider_id"], pa.string())
    findings["provider_id"] = provider.cast(pa.string()).to_numpy(zero_copy_only=False)
    return findings


def detail_columns(findings: pd.DataFrame) -> dict[str, pa.Array]:
    """The line details of findings that have them, as Arrow."""
    return {
        name: from_series(findings[name], LINE_DETAIL_SCHEMA.field(name).type)
        for name in LINE_DETAIL_FIELDS
    }
