"""Stable, vectorized string hashes (FNV-1a, 64 bit) over Arrow string arrays.

Used for finding fingerprints and for partitioning lines by patient: the same text hashes the
same way on every machine and in every version, unlike Python's salted `hash`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def fnv1a64(texts: pa.Array, offset: np.uint64 = FNV_OFFSET) -> np.ndarray:
    """FNV-1a 64 of each string's UTF-8 bytes (a null hashes as the empty string).

    Vectorized over strings: one pass per byte position, over the strings that long.
    """
    texts = pa.array(texts).cast(pa.large_string())
    texts = texts.fill_null("") if texts.null_count else texts
    count = len(texts)
    hashes = np.full(count, offset, dtype=np.uint64)
    if not count:
        return hashes
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[
        texts.offset : texts.offset + count + 1
    ]
    data = texts.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    starts = offsets[:-1]
    live = np.arange(count)
    for position in range(int(lengths.max())):
        live = live[lengths[live] > position]
        byte = data[starts[live] + position].astype(np.uint64)
        hashes[live] = (hashes[live] ^ byte) * FNV_PRIME
    return hashes


def to_hex(hashes: np.ndarray) -> np.ndarray:
    """16 lower-case hex digits per 64-bit hash, as an object array of str."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = hashes.astype(">u8").view(np.uint8).reshape(-1, 8)
    hexed = np.stack([digits[raw >> 4], digits[raw & 15]], axis=2).reshape(-1, 16)
    return hexed.view("S16").ravel().astype(str).astype(object)
