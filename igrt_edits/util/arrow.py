"""Small helpers for working on dictionary-encoded Arrow columns.

Most claim columns have few distinct values. Work that depends only on a value (upper-casing a
code, classifying it, parsing a date) runs once per distinct value and is spread back to the
lines through the dictionary indices.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_dictionary(array: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """The array dictionary-encoded (nulls stay null), as one chunk."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        return array
    return pc.dictionary_encode(array, null_encoding="mask")


def map_values(array: pa.DictionaryArray, fn: Callable[[pa.Array], pa.Array]) -> pa.DictionaryArray:
    """Apply `fn` to the distinct values; equal results share one dictionary entry.

    When the results are still distinct (the usual case: values were already clean), the
    line indices are kept as they are instead of being rewritten.
    """
    results = fn(array.dictionary)
    if results.null_count == 0 and _unchanged(results, array.dictionary):
        return pa.DictionaryArray.from_arrays(array.indices, results)
    mapped = pc.dictionary_encode(results, null_encoding="mask")
    indices = mapped.indices.take(array.indices)
    return pa.DictionaryArray.from_arrays(indices, mapped.dictionary)


def _unchanged(results: pa.Array, values: pa.Array) -> bool:
    """Whether `fn` left every distinct value as it was (then they are still distinct)."""
    if values.null_count or len(results) != len(values):
        return False
    if not results.type.equals(values.type):
        values = values.cast(results.type)
    return bool(pc.all(pc.equal(results, values)).as_py() is not False)


def spread(array: pa.DictionaryArray, per_value: np.ndarray, null_value) -> np.ndarray:
    """Per-line values from a per-dictionary-entry numpy array; `null_value` for null lines."""
    indices = indices_of(array)
    table = np.append(np.asarray(per_value), np.asarray(null_value, dtype=per_value.dtype))
    return table[indices]


def indices_of(array: pa.DictionaryArray) -> np.ndarray:
    """Dictionary indices as int64 numpy, with null lines pointing one past the dictionary."""
    indices = array.indices
    filled = pc.fill_null(indices, len(array.dictionary))
    return np.asarray(filled, dtype=np.int64)


def text_values(array: pa.DictionaryArray) -> np.ndarray:
    """The dictionary as a numpy object array of str ('' for null entries)."""
    return np.asarray(
        pc.fill_null(array.dictionary.cast(pa.string()), "").to_pylist(), dtype=object
    )


def single_chunk(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array for a column; dictionary chunks sharing a dictionary are joined by indices only."""
    if isinstance(column, pa.Array):
        return column
    if column.num_chunks == 1:
        return column.chunk(0)
    if column.num_chunks == 0:
        return pa.array([], type=column.type)
    if pa.types.is_dictionary(column.type):
        dictionary = column.chunk(0).dictionary
        if all(c.dictionary.equals(dictionary) for c in column.chunks[1:]):
            indices = pa.concat_arrays([c.indices for c in column.chunks])
            return pa.DictionaryArray.from_arrays(indices, dictionary)
    return column.combine_chunks()


def take_rows(array: pa.Array, rows: np.ndarray) -> pa.Array:
    """The entries at `rows` (ascending positions), gathered with numpy where the type allows.

    The command line has numpy's freed memory reused (see `memory`), while fresh Arrow
    buffers of tens of megabytes cost page faults.
    """
    if pa.types.is_dictionary(array.type):
        return pa.DictionaryArray.from_arrays(take_rows(array.indices, rows), array.dictionary)
    value_type = array.type
    if pa.types.is_date32(value_type):
        return take_rows(array.view(pa.int32()), rows).view(value_type)
    if not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)):
        return array.take(pa.array(rows))
    if array.null_count == 0:
        return pa.array(np.asarray(array).take(rows), value_type)
    values = np.asarray(pc.fill_null(array, 0)).take(rows)
    missing = ~np.asarray(array.is_valid()).take(rows)
    return pa.array(values, value_type, mask=missing)


def combine_batches(batches: list[pa.Table]) -> pa.Table:
    """One table of single-chunk columns from batch tables, emptying `batches` as it goes.

    Dictionary columns get one dictionary for all batches. Each column is built and then
    dropped from the batches, so memory holds at most one column twice.
    """
    names = list(dict.fromkeys(name for batch in batches for name in batch.column_names))
    rows = [batch.num_rows for batch in batches]
    columns = {}
    for name in names:
        parts = [batch.column(name) if name in batch.column_names else None for batch in batches]
        columns[name] = _combine_column(parts, rows)
        batches[:] = [b.drop_columns([name]) if name in b.column_names else b for b in batches]
    batches.clear()
    return pa.table(columns)


def _combine_column(parts: list[pa.ChunkedArray | None], rows: list[int]) -> pa.Array:
    types = {p.type for p in parts if p is not None}
    kind = types.pop() if len(types) == 1 else pa.large_string()
    chunks = []
    for part, count in zip(parts, rows, strict=True):
        if part is None:
            chunks.append(pa.nulls(count, kind))
        else:
            chunks.extend(c if c.type == kind else c.cast(kind) for c in part.chunks)
    if not pa.types.is_dictionary(kind):
        return pa.concat_arrays(chunks) if chunks else pa.array([], kind)
    return _unify(chunks, kind)


def _unify(chunks: list[pa.DictionaryArray], kind: pa.DataType) -> pa.DictionaryArray:
    """Dictionary chunks re-coded against one dictionary, as a single array."""
    if not chunks:
        return pa.array([], kind)
    first = chunks[0].dictionary
    if all(c.dictionary.equals(first) for c in chunks[1:]):  # one dictionary already
        return pa.DictionaryArray.from_arrays(pa.concat_arrays([c.indices for c in chunks]), first)
    if not any(c.dictionary.null_count for c in chunks):
        unified = pa.table({"v": pa.chunked_array(chunks, kind)}).unify_dictionaries().column(0)
        indices = pa.concat_arrays([c.indices for c in unified.chunks])
        return pa.DictionaryArray.from_arrays(indices, unified.chunk(0).dictionary)
    # Arrow's unifier does not take null dictionary entries: those lines become null here.
    everything = pa.concat_arrays([c.dictionary for c in chunks])
    encoded = pc.dictionary_encode(everything)
    mapping = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int32)
    start, indices = 0, []
    for chunk in chunks:
        local = mapping[start : start + len(chunk.dictionary)]
        codes = np.asarray(pc.fill_null(chunk.indices, 0), dtype=np.int64)
        remapped = local[codes] if len(local) else np.zeros(len(codes), np.int32)
        missing = ~np.asarray(chunk.indices.is_valid()) | (remapped < 0)
        indices.append(pa.array(remapped, pa.int32(), mask=missing if missing.any() else None))
        start += len(chunk.dictionary)
    return pa.DictionaryArray.from_arrays(pa.concat_arrays(indices), encoded.dictionary)


def coded(names: tuple[str, ...], codes: np.ndarray) -> pa.DictionaryArray:
    """Small integer codes as a dictionary column; code 0 (unknown) becomes null."""
    indices = pa.array(codes.astype(np.int32) - 1, mask=codes == 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names[1:], pa.string()))


def from_series(series: pd.Series, kind: pa.DataType) -> pa.Array:
    """A pandas column as one Arrow array of `kind` (or a dictionary of it).

    The arrays of an Arrow-backed column are taken as they are, nothing copied, a dictionary
    kept; numpy and object columns are converted.
    """
    if isinstance(series.dtype, pd.ArrowDtype):
        array = single_chunk(pa.chunked_array(series.array.__arrow_array__()))
        value_type = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
        return array if value_type == kind else array.cast(kind)
    if pa.types.is_integer(kind) and series.dtype.kind in "iu":
        return pa.array(series.to_numpy(), kind)
    return pa.array(series.to_numpy(dtype=object), kind, from_pandas=True)


def append_texts(arrays: list[pa.Array]) -> pa.Array:
    """String arrays (taken out of the list) one after another as one array.

    Unlike `pa.concat_arrays`, each input is let go once its bytes are copied, so a large
    text column is held about once, not twice. Large string when the bytes need it.
    """
    if any(a.null_count for a in arrays):
        joined = pa.concat_arrays([a.cast(pa.large_string()) for a in arrays])
        arrays.clear()
        return joined
    spans = [_text_span(a) for a in arrays]
    total = sum(int(offsets[-1] - offsets[0]) for offsets, _ in spans)
    count = sum(len(a) for a in arrays)
    del spans
    data = np.empty(total, dtype=np.uint8)
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = position = at = 0
    while arrays:
        local, values = _text_span(arrays.pop(0))
        size = int(local[-1] - local[0])
        data[position : position + size] = values[local[0] : local[-1]]
        offsets[at + 1 : at + len(local)] = local[1:] - local[0] + position
        position, at = position + size, at + len(local) - 1
        del local, values
    kind = pa.string() if total < (1 << 31) else pa.large_string()
    if kind == pa.string():
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(kind, count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _text_span(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string array, its slice offset applied to the offsets."""
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + len(array) + 1]
    data = buffers[2]
    values = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), values
