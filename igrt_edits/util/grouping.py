"""Vectorized per-group string joins (no Python loop over groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def join_per_group(
    group: np.ndarray,
    values: np.ndarray,
    query: np.ndarray,
    *,
    sort_by: list[np.ndarray] | None = None,
    separator: str = ", ",
    limit: int | None = None,
) -> np.ndarray:
    """For each group key in `query`, the distinct `values` of that group joined ('' if none).

    Values are ordered by `sort_by` (default: the values themselves). With `limit`, at most that
    many are listed, followed by "and N more". Group keys may be any integers.
    """
    if sort_by is None and limit is None:
        return _join_distinct(group, values, query, separator)
    sort_keys = sort_by or [values]
    columns = {"g": np.asarray(group, dtype=np.int64), "v": values}
    columns.update({f"s{i}": key for i, key in enumerate(sort_keys)})
    frame = pd.DataFrame(columns).drop_duplicates(subset=["g", "v"])
    frame = frame.sort_values(["g", *[f"s{i}" for i in range(len(sort_keys))]], kind="stable")
    keys, starts, counts = np.unique(frame["g"].to_numpy(), return_index=True, return_counts=True)
    shown = counts if limit is None else np.minimum(counts, limit)
    if limit is not None:
        rank = np.arange(len(frame)) - np.repeat(starts, counts)
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
    query = np.asarray(query, dtype=np.int64)
    at = np.searchsorted(keys, query)
    found = at < len(keys)
    found[found] = keys[at[found]] == query[found]
    out = np.full(len(query), "", dtype=object)
    out[found] = joined[at[found]]
    return out


def _join_distinct(group, values, query, separator: str) -> np.ndarray:
    """`join_per_group` in value order, on integer ids: each text is compared once."""
    group, query = np.asarray(group, dtype=np.int64), np.asarray(query, dtype=np.int64)
    out = np.full(len(query), "", dtype=object)
    if not len(group):
        return out
    encoded = pc.dictionary_encode(pa.array(np.asarray(values, dtype=object), pa.string()))
    by_text = pc.sort_indices(encoded.dictionary)
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank[np.asarray(by_text)] = np.arange(len(rank))
    keys, compact = distinct(group)
    width = max(len(rank), 1)
    pairs, _ = distinct(compact * width + rank[np.asarray(encoded.indices, dtype=np.int64)])
    counts = np.bincount(pairs // width, minlength=len(keys))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    texts = encoded.dictionary.take(by_text).take(pa.array(pairs % width))
    lists = pa.ListArray.from_arrays(pa.array(offsets), texts)
    joined = np.asarray(pc.binary_join(lists, separator).to_pylist(), dtype=object)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    found = keys[at] == query
    out[found] = joined[at[found]]
    return out


def block_key(group: np.ndarray, value: np.ndarray, limit: int) -> np.ndarray | None:
    """Integer ids of (group, value) pairs without hashing, or None when they would be sparse.

    Each group gets a block of ids from its smallest to its largest value (a patient's first
    to last day of service, a claim's first to last line number). When the blocks together
    exceed `limit` ids, None tells the caller to hash the pairs instead.
    """
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    group = group.astype(np.int64, copy=False)
    value = value.astype(np.int64, copy=False)
    first = np.full(int(group.max()) + 1, np.iinfo(np.int64).max)
    last = np.full(len(first), np.iinfo(np.int64).min)
    np.minimum.at(first, group, value)
    np.maximum.at(last, group, value)
    span = np.where(last >= first, last - first + 1, 0)
    if span.sum() > limit:
        return None
    # One gather per line (the group's offset), not two: the groups are usually scattered
    # through the extract, so each gather is a cache miss per line.
    offset = np.cumsum(span) - span - np.where(span > 0, first, 0)
    return offset[group] + value


def compact_ids(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Keys renumbered 0..n-1 in key order (n = distinct keys), by a scatter, not a hash."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), 0
    present = np.zeros(int(keys.max()) + 1, dtype=bool)
    present[keys] = True
    rank = np.cumsum(present) - 1
    return rank[keys], int(rank[-1]) + 1


def distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct integer keys in order, each key's position among them): `np.unique` with
    `return_inverse`, by a scatter when the keys span little more than their count."""
    keys = np.asarray(keys, dtype=np.int64)
    if not len(keys):
        return keys, np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low >= 4 * len(keys) + (1 << 20):
        values, inverse = np.unique(keys, return_inverse=True)
        return values, inverse.reshape(-1)
    present = np.zeros(high - low + 1, dtype=bool)
    present[keys - low] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[keys - low]
