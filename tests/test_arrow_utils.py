"""Joining normalized batches: one dictionary per column, every line's value unchanged."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from igrt_edits.util.arrow import combine_batches, take_rows


def _dict(values: list[str | None], dictionary: list[str | None]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array([None if v is None else dictionary.index(v) for v in values], pa.int32()),
        pa.array(dictionary, pa.string()),
    )


@pytest.mark.parametrize("null_entry", [False, True])
def test_batches_with_their_own_dictionaries_join_under_one(null_entry: bool) -> None:
    first = _dict(["C2", "C1", None, "C2"], ["C2", "C1"])
    second_dictionary = ["C3", "C1", None] if null_entry else ["C3", "C1"]
    second = _dict(["C1", "C3", None], second_dictionary)
    batches = [pa.table({"claim_id": first}), pa.table({"claim_id": second, "units": [1, 2, 3]})]

    combined = combine_batches(batches)

    claim = combined.column("claim_id")
    assert claim.num_chunks == 1
    assert len(set(claim.chunk(0).dictionary.to_pylist())) == len(claim.chunk(0).dictionary)
    assert claim.to_pylist() == ["C2", "C1", None, "C2", "C1", "C3", None]
    assert combined.column("units").to_pylist() == [None, None, None, None, 1, 2, 3]
    assert batches == []


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1, None, 3, 4], pa.int64()),
        pa.array([1.5, 2.5, None, 4.0]),
        pa.array([0, 19000, None, 20000], pa.int32()).cast(pa.date32()),
        pa.array(["a", None, "c", "d"]),
        pa.array([True, False, None, True]),
        _dict(["x", None, "y", "x"], ["x", "y"]),
        pa.array([7, 8, 9, 10], pa.int32()),
    ],
    ids=["int-nulls", "float-nulls", "date-nulls", "string", "bool", "dictionary", "int"],
)
def test_take_rows_keeps_values_nulls_and_type(array: pa.Array) -> None:
    rows = np.array([0, 2, 3])
    taken = take_rows(array, rows)
    assert taken.type == array.type
    assert taken.to_pylist() == array.take(pa.array(rows)).to_pylist()
