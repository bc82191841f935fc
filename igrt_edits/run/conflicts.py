"""Claim conflicts: a claim under two patient ids, or one claim line given twice.

Every line involved is rejected, so results never depend on which copy comes first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.contract import REJECT_SCHEMA
from igrt_edits.rules.frame import Keys
from igrt_edits.util.arrow import single_chunk
from igrt_edits.util.grouping import block_key

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
