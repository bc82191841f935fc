"""The Parquet files of the bad-input corpus (tests/corpus/parquet/), built from code.

The files are committed so the corpus command can run them; `test_hostile_corpus` checks that
they still hold exactly what `tables()` builds. Rebuild them with
`PYTHONPATH=. python tests/corpus_parquet.py`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DIRECTORY = Path(__file__).resolve().parent / "corpus" / "parquet"
DAY = dt.date(2020, 3, 2)


def _int_codes() -> pa.Table:
    """Ids, codes, dates and bill types written as integers, as SAS and some warehouses do."""
    return pa.table(
        {
            "claim_id": pa.array([101, 101, 102, 102], pa.int64()),
            "line_number": pa.array([1, 2, 1, 2], pa.int32()),
            "patient_id": pa.array([9001, 9001, 9002, 9002], pa.int64()),
            "service_date": pa.array([20200302] * 4, pa.int64()),
            "procedure_code": pa.array([77412, 77387, 77412, 77387], pa.int64()),
            "bill_type": pa.array([131] * 4, pa.int16()),
            "claim_type": ["institutional"] * 4,
            "diagnosis_codes": ["C61", "C61", "Z85.3", "Z85.3"],
        }
    )


def _timestamp_dates() -> pa.Table:
    """Dates as timestamps: midnight is a date; a time of day is not; a null is blank."""
    at = dt.datetime(2020, 3, 2)
    return pa.table(
        {
            "claim_id": ["H1001"] * 4,
            "line_number": [1, 2, 3, 4],
            "patient_id": ["M1001"] * 4,
            "service_date": pa.array(
                [at, at, at.replace(hour=10, minute=30), None], pa.timestamp("ms")
            ),
            "procedure_code": ["77412", "77387", "77014", "77387"],
            "bill_type": ["0131"] * 4,
        }
    )


def _timestamp_tz_dates() -> pa.Table:
    """Zoned timestamps: the service date is the one on the zone's wall clock."""
    local = pd.to_datetime(["2020-03-02 00:00", "2020-03-02 00:00", "2020-03-02 09:15"])
    return pa.table(
        {
            "claim_id": ["H1001"] * 3,
            "line_number": [1, 2, 3],
            "patient_id": ["M1001"] * 3,
            # the unit is explicit: pandas 2 makes nanoseconds, pandas 3 microseconds
            "service_date": pa.array(
                local.tz_localize("America/New_York"), pa.timestamp("us", tz="America/New_York")
            ),
            "procedure_code": ["77412", "77387", "77014"],
            "bill_type": ["0131"] * 3,
        }
    )


def _string_dates() -> pa.Table:
    """Dates as text in every accepted form, plus an impossible one."""
    return pa.table(
        {
            "claim_id": ["H1001"] * 5,
            "line_number": [1, 2, 3, 4, 5],
            "patient_id": ["M1001"] * 5,
            "service_date": ["2020-03-02", "03/02/2020", "20200302", "02-Mar-2020", "2019-02-30"],
            "procedure_code": ["77412", "77387", "77412", "77412", "77014"],
            "bill_type": ["0131"] * 5,
        }
    )


def _decimal_units() -> pa.Table:
    """Units as decimals and line numbers as floats: exact values pass, the rest are rejected."""
    units = [Decimal("1.00"), Decimal("0.50"), Decimal("0.50"), Decimal("-1.00"), None]
    return pa.table(
        {
            "claim_id": ["H1001"] * 5,
            "line_number": pa.array([1.0, 2.0, 3.0, 4.0, 4.5], pa.float64()),
            "patient_id": ["M1001"] * 5,
            "service_date": pa.array([DAY] * 5, pa.date32()),
            "procedure_code": ["77412", "77387", "77387", "77014", "77014"],
            "units": pa.array(units, pa.decimal128(5, 2)),
            "bill_type": ["0131"] * 5,
        }
    )


def _nulls_everywhere() -> pa.Table:
    """Every value null; two columns have Arrow's null type (an all-None pandas column)."""
    rows = 3
    return pa.table(
        {
            "claim_id": pa.nulls(rows, pa.string()),
            "line_number": pa.nulls(rows, pa.int64()),
            "patient_id": pa.nulls(rows),
            "service_date": pa.nulls(rows, pa.date32()),
            "procedure_code": pa.nulls(rows, pa.string()),
            "units": pa.nulls(rows, pa.float64()),
            "diagnosis_codes": pa.nulls(rows),
        }
    )


def _list_column() -> pa.Table:
    """Modifiers as a list column: a type no claim field can be read from."""
    return pa.table(
        {
            "claim_id": ["H1001", "H1001"],
            "line_number": [1, 2],
            "patient_id": ["M1001", "M1001"],
            "service_date": pa.array([DAY, DAY], pa.date32()),
            "procedure_code": ["77412", "77387"],
            "modifiers": pa.array([[], ["26"]], pa.list_(pa.string())),
        }
    )


def tables() -> dict[str, pa.Table]:
    """File name -> table, for every Parquet file of the corpus but the truncated one."""
    return {
        "int_codes.parquet": _int_codes(),
        "timestamp_dates.parquet": _timestamp_dates(),
        "timestamp_tz_dates.parquet": _timestamp_tz_dates(),
        "string_dates.parquet": _string_dates(),
        "decimal_units.parquet": _decimal_units(),
        "nulls_everywhere.parquet": _nulls_everywhere(),
        "list_column.parquet": _list_column(),
        "no_rows.parquet": _int_codes().slice(0, 0),
    }


TRUNCATED = "truncated.parquet"
"""int_codes.parquet cut after its first 200 bytes: a transfer that stopped."""


def build(directory: Path = DIRECTORY) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables().items():
        pq.write_table(table, directory / name)
    whole = (directory / "int_codes.parquet").read_bytes()
    (directory / TRUNCATED).write_bytes(whole[:200])


if __name__ == "__main__":
    build()
