"""Findings written by Spark as the local run's Parquet output holds them.

On a local file system the written directory replaces what was at the path only once it is
complete, so a failed or interrupted write never leaves a partial directory behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
from pyspark.sql import functions as F

from igrt_edits.contract import FINDINGS_ORDER
from igrt_edits.report.redact import Redactor


def output_findings(findings: DataFrame, redactor: Redactor | None = None) -> DataFrame:
    """Findings as the local run's Parquet output holds them: patient ids redacted when asked,
    service dates as dates, in contract order."""
    if redactor is not None:
        findings = _redact_patients(findings, redactor)
    dated = findings.withColumn("service_date", F.col("service_date").cast("date"))
    return dated.orderBy(*FINDINGS_ORDER)


def _redact_patients(findings: DataFrame, redactor: Redactor) -> DataFrame:
    """Patient ids replaced by the redactor's tokens, batch by batch on the executors.

    The key travels to the executors with the task; the ids never come to the driver.
    """
    schema = findings.schema

    def redact(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            arrays = list(batch.columns)
            index = batch.schema.get_field_index("patient_id")
            arrays[index] = redactor.arrow(arrays[index])
            yield pa.RecordBatch.from_arrays(arrays, schema=batch.schema)

    return findings.mapInArrow(redact, schema)


def parquet_writer(frame: DataFrame) -> DataFrameWriter:
    """Parquet compressed as the local run's Parquet output is (zstd)."""
    return frame.write.mode("overwrite").option("compression", "zstd")


def local_directory(spark: SparkSession, path: str) -> Path | None:
    """The local directory Spark writes `path` to, or None for another file system (a URI
    such as s3:// or dbfs:/, or a plain path where the cluster's default is HDFS)."""
    context = spark.sparkContext
    hadoop = context._jvm.org.apache.hadoop.fs
    scheme = hadoop.Path(path).toUri().getScheme()
    if scheme is None:
        default = hadoop.FileSystem.getDefaultUri(context._jsc.hadoopConfiguration())
        return Path(path) if default.getScheme() in (None, "file") else None
    return Path(local_path(path)) if scheme == "file" else None


def local_path(uri: str) -> str:
    """The file system path in a URI as Spark names a file (`file:/data/x.csv`)."""
    return unquote(urlparse(uri).path)


def replace_directory(frame: DataFrame, target: Path) -> None:
    """Write `frame` as Parquet to a hidden sibling directory, then rename it to `target`.

    A file or directory already at `target` is moved aside only after the write succeeded,
    and deleted once the new directory is in place: a failed or interrupted write leaves it
    as it was, and never a partial directory at `target`.
    """
    parent = target.parent if str(target.parent) else Path(".")
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    aside = previous = None
    try:
        # A file: URI, so that Spark writes where this process renames, whatever Spark's
        # default file system.
        parquet_writer(frame).parquet(temp.resolve().as_uri())
        if _occupied(target):
            aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            target.rename(aside / "previous")
            previous = aside / "previous"
        temp.rename(target)
    except BaseException:
        if previous is not None and not _occupied(target):
            previous.rename(target)
        raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _occupied(path: Path) -> bool:
    """Something (a file, a directory or a link, even a broken one) is at `path`."""
    return path.is_symlink() or path.exists()
