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

from igrt_edits.contract import FINDING_FIELDS, FINDINGS_ORDER, FINDINGS_SCHEMA, LINE_DETAIL_FIELDS

INTEGER_FIELDS = frozenset(f.name for f in FINDINGS_SCHEMA if pa.types.is_integer(f.type))


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c in INTEGER_FIELDS else "object") for c in FINDING_FIELDS}
    )


def order_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in the contract's order (FINDINGS_ORDER), with its fields in its order.

    Findings with only some fields (collected from an engine that wrote the rest itself) keep
    those; line details (LINE_DETAIL_FIELDS), when the run added them, follow.
    """
    columns = [c for c in (*FINDING_FIELDS, *LINE_DETAIL_FIELDS) if c in findings.columns]
    if findings.empty:
        return findings[columns].reset_index(drop=True)
    keys = [
        findings[c].to_numpy(dtype=np.int64 if c in INTEGER_FIELDS else str)
        for c in reversed(FINDINGS_ORDER)
    ]
    return findings.iloc[np.lexsort(keys)][columns].reset_index(drop=True)


def order_findings_table(table: pa.Table) -> pa.Table:
    """An Arrow table of findings in the contract's order (dictionary columns allowed)."""
    keys = pa.schema([FINDINGS_SCHEMA.field(c) for c in FINDINGS_ORDER])
    order = pc.sort_indices(
        table.select(list(FINDINGS_ORDER)).cast(keys), [(c, "ascending") for c in FINDINGS_ORDER]
    )
    return table.take(order)


def to_arrow(findings: pd.DataFrame) -> pa.Table:
    """Findings as Arrow, in the contract's schema whatever the DataFrame's dtypes."""
    return pa.Table.from_pandas(
        findings[list(FINDING_FIELDS)], schema=FINDINGS_SCHEMA, preserve_index=False
    )


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
