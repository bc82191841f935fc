"""Arrow tables as CSV (safe to open in a spreadsheet) or Parquet.

Used for findings, annotated lines and rejects alike, so every tabular output neutralises
spreadsheet formulas the same way and joins lists the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"
LIST_SEPARATOR = "; "
TABULAR_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
CSV_OPTIONS = pa_csv.WriteOptions(quoting_style="needed")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Text (or byte) cells a spreadsheet would run as a formula, prefixed with an apostrophe."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_PATTERN), False)
    if not pc.any(risky).as_py():
        return column
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, column, empty), column)


def csv_ready(table: pa.Table) -> pa.Table:
    """Lists joined with '; ', text neutralised: a table every spreadsheet shows as data."""
    columns = []
    for column in table.columns:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            column = pc.binary_join(column, LIST_SEPARATOR)
            kind = pa.string()
        if any(
            check(kind)
            for check in (
                pa.types.is_string,
                pa.types.is_large_string,
                pa.types.is_binary,
                pa.types.is_large_binary,
            )
        ):
            column = neutralise(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_csv(sink: str | BinaryIO, table: pa.Table) -> None:
    """CSV with a header; text quoted, empty text as "" and missing values as nothing."""
    pa_csv.write_csv(csv_ready(table), sink, CSV_OPTIONS)


def write_parquet(sink: str | BinaryIO, table: pa.Table) -> None:
    pq.write_table(table, sink, compression="zstd")


def write_table(sink: str | BinaryIO, table: pa.Table, fmt: str) -> None:
    """Write `table` as `fmt` ("csv" or "parquet")."""
    (write_parquet if fmt == "parquet" else write_csv)(sink, table)


def write_tables(sink: str | BinaryIO, tables: Iterator[pa.Table], fmt: str) -> None:
    """Write the tables (at least one, all of one schema) as one `fmt` file, a table at a time
    (each is let go once written, so one is held at a time).

    The bytes are those `write_table` writes for the tables joined, when each table but the
    last has a Parquet row group's worth of rows (see frames.SLICE_ROWS).
    """
    table = next(tables)
    if fmt == "parquet":
        with pq.ParquetWriter(sink, table.schema, compression="zstd") as writer:
            while table is not None:
                writer.write_table(table)
                table = None  # let it go before the next is made
                table = next(tables, None)
        return
    ready = csv_ready(table)
    with pa_csv.CSVWriter(sink, ready.schema, write_options=CSV_OPTIONS) as writer:
        while ready is not None:
            writer.write_table(ready)
            table = ready = None
            table = next(tables, None)
            ready = None if table is None else csv_ready(table)
