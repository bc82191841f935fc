"""Vectorized per-group string joins (no Python loop over groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def join_per_group(
    group: np.ndarray,
    values: np.ndarray,
    groups: int,
    *,
    sort_by: list[np.ndarray] | None = None,
    separator: str = ", ",
    limit: int | None = None,
) -> np.ndarray:
    """Join `values` per group number (0..groups-1) into one string each ('' for empty groups).

    Values are de-duplicated within a group and ordered by `sort_by` (default: the values).
    With `limit`, at most that many are listed, followed by "and N more".
    """
    sort_keys = sort_by or [values]
    columns = {"g": np.asarray(group, dtype=np.int64), "v": values}
    columns.update({f"s{i}": key for i, key in enumerate(sort_keys)})
    frame = pd.DataFrame(columns).drop_duplicates(subset=["g", "v"])
    frame = frame.sort_values(["g", *[f"s{i}" for i in range(len(sort_keys))]], kind="stable")
    counts = np.bincount(frame["g"].to_numpy(), minlength=groups)
    shown = counts if limit is None else np.minimum(counts, limit)
    if limit is not None:
        rank = np.arange(len(frame)) - np.repeat(np.cumsum(counts) - counts, counts)
        frame = frame[rank < limit]
    offsets = np.concatenate([[0], np.cumsum(shown)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(frame["v"].to_numpy(), pa.string())
    )
    joined = pc.binary_join(lists, separator).to_numpy(zero_copy_only=False).astype(object)
    if limit is not None:
        more = counts - shown
        extra = more > 0
        joined[extra] = joined[extra] + np.char.mod(" and %d more", more[extra]).astype(object)
    return joined


def list_per_group(group: np.ndarray, values: np.ndarray, groups: int) -> pa.ListArray:
    """Values (in the given order) gathered into one list per group number."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(np.asarray(group, dtype=np.int64), minlength=groups)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[order], pa.string()))
