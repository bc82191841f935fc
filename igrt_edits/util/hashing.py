"""Stable, vectorized string hashes (FNV-1a, 64 bit) over Arrow string arrays.

Used for finding fingerprints and for partitioning lines by patient: the same text hashes the
same way on every machine and in every version, unlike Python's salted `hash`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def fnv1a64(texts: pa.Array, offset: np.uint64 | np.ndarray = FNV_OFFSET) -> np.ndarray:
    """FNV-1a 64 of each string's UTF-8 bytes (a null hashes as the empty string).

    `offset` is the starting state, one for all or one per string: the state a hash of a
    prefix ended in continues it over the string.

    Vectorized over strings of one length at a time: their bytes form a matrix whose columns
    are folded in, one numpy pass per byte position over contiguous memory.
    """
    texts = pa.array(texts).cast(pa.large_string())
    texts = texts.fill_null("") if texts.null_count else texts
    count = len(texts)
    hashes = np.array(np.broadcast_to(np.asarray(offset, dtype=np.uint64), count))
    if not count:
        return hashes
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[
        texts.offset : texts.offset + count + 1
    ]
    data = texts.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    small = lengths.astype(np.int16) if lengths.max() < (1 << 15) else lengths
    by_length = np.argsort(small, kind="stable")  # a radix sort for 16-bit keys
    bounds = np.flatnonzero(np.diff(lengths[by_length])) + 1
    for group in np.split(by_length, bounds):
        length = int(lengths[group[0]])
        for start in range(0, len(group) if length else 0, HASH_BLOCK):
            members = group[start : start + HASH_BLOCK]
            hashes[members] = _fold(hashes[members], data, offsets[members], length)
    return hashes


HASH_BLOCK = 1 << 18
"""Strings hashed at a time: bounds the byte matrix (strings times length) held at once."""


def _fold(hashes: np.ndarray, data: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """FNV-1a steps over `length` bytes from each start: one column of bytes per step."""
    columns = data[starts[None, :] + np.arange(length)[:, None]].astype(np.uint64)
    for byte in columns:
        hashes = (hashes ^ byte) * FNV_PRIME
    return hashes


def to_hex(hashes: np.ndarray) -> np.ndarray:
    """16 lower-case hex digits per 64-bit hash, as an object array of str."""
    return _hex_bytes(hashes).view("S16").ravel().astype(str).astype(object)


def hex_strings(hashes: np.ndarray) -> pa.Array:
    """16 lower-case hex digits per 64-bit hash, as an Arrow string array (no Python str)."""
    count = len(hashes)
    offsets = np.arange(0, 16 * count + 1, 16, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(),
        count,
        [None, pa.py_buffer(offsets), pa.py_buffer(_hex_bytes(hashes).ravel())],
    ).cast(pa.string())


def _hex_bytes(hashes: np.ndarray) -> np.ndarray:
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = np.asarray(hashes, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    return np.stack([digits[raw >> 4], digits[raw & 15]], axis=2).reshape(-1, 16)
