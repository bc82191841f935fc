"""Helpers of the Spark tests: a local-mode session and generated extracts.

The tests need PySpark (the `spark` extra) and Java; their module skips when PySpark is not
installed, so the main test environment runs without them. (Not a conftest.py: a second module
named conftest would shadow tests/conftest.py for the modules that import from it.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent.parent
SAMPLES = REPO / "sample_claims"


def local_spark():
    """A small local Spark: two cores, few shuffle partitions, no UI."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("igrt-edits-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def demo_table() -> pa.Table:
    """The demo extract with every column as text, as a CSV holds it."""
    names = (SAMPLES / "radonc_demo.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    return pa_csv.read_csv(
        SAMPLES / "radonc_demo.csv",
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
        ),
    )


def write_generated(directory: Path, copies: int = 12, seed: int = 7) -> list[Path]:
    """Two files (CSV and Parquet) of `copies` relabelled copies of the demo courses.

    Claims go to one file or the other by claim, so a patient-day's facility and professional
    claims often sit in different files. Rows are shuffled within each file. Input errors are
    planted: a claim under two patient ids, a repeated claim line, an impossible date, a row
    with too few fields, pediatric lines (from the demo), and lines whose setting is unknown or
    OTHER (so they have no coding scheme).
    """
    base = demo_table()
    parts = []
    for k in range(copies):
        suffix = pa.scalar(f"-{k:02d}")
        copy = base.set_column(
            0, "claim_id", pa.compute.binary_join_element_wise(base["claim_id"], suffix, "")
        )
        index = copy.schema.get_field_index("patient_id")
        copy = copy.set_column(
            index,
            "patient_id",
            pa.compute.binary_join_element_wise(copy["patient_id"], suffix, ""),
        )
        parts.append(copy)
    table = pa.concat_tables(parts)
    rows = table.to_pylist()
    rows[5]["patient_id"] = rows[400]["patient_id"]  # claim of rows[5] now under two patients
    rows.append(dict(rows[900]))  # claim_id + line_number twice
    rows[1200]["service_date"] = "2025-02-30"  # not a date
    for row in rows:
        if row["claim_id"].endswith("-03") and row["claim_type"] == "professional":
            row["claim_type"] = row["place_of_service"] = ""  # setting unknown: no scheme
        if row["claim_id"].endswith("-04") and row["claim_type"] == "institutional":
            row["bill_type"] = "0851"  # setting OTHER: no scheme
    table = pa.Table.from_pylist(rows, schema=table.schema)

    rng = np.random.default_rng(seed)
    claims = np.asarray(table["claim_id"].to_pylist(), dtype=object)
    unique = np.unique(claims)
    in_csv = dict(zip(unique, rng.random(len(unique)) < 0.5, strict=True))
    mask = np.array([in_csv[c] for c in claims])
    mask[1200] = True  # the impossible date can only be written as text
    csv_rows = table.filter(pa.array(mask))
    parquet_rows = table.filter(pa.array(~mask))
    csv_rows = csv_rows.take(pa.array(rng.permutation(csv_rows.num_rows)))
    parquet_rows = parquet_rows.take(pa.array(rng.permutation(parquet_rows.num_rows)))

    csv_path = directory / "claims_a.csv"
    pa_csv.write_csv(csv_rows, csv_path, pa_csv.WriteOptions(quoting_style="needed"))
    with csv_path.open("a", encoding="utf-8") as out:
        out.write("BROKEN-1,1,M9\n")  # too few fields: rejected with its row number
    typed = parquet_rows.set_column(
        parquet_rows.schema.get_field_index("line_number"),
        "line_number",
        parquet_rows["line_number"].cast(pa.int32()),
    )
    typed = typed.set_column(
        typed.schema.get_field_index("service_date"),
        "service_date",
        typed["service_date"].cast(pa.date32()),
    )
    parquet_path = directory / "claims_b.parquet"
    pq.write_table(typed, parquet_path, row_group_size=1000)
    return [csv_path, parquet_path]
