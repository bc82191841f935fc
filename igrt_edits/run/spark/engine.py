"""Run the edits on Apache Spark, with the same functions and results as a local run.

Needs the `spark` extra (`pip install igrt-edits[spark]`). A run has three steps:

1. Stage, per file or per batch of rows (`mapInArrow`): read and validate the rows, derive each
   line's context (`distributed.stage_extract`). Files named to `check_files` are read whole by
   Spark (`binaryFile`) and parsed by the local run's readers, so every file keeps its name and
   every row the row number a spreadsheet shows; a DataFrame handed to `check_dataframe` is
   validated batch by batch.
2. Reject claims under two patient ids and repeated claim lines, found with two aggregations;
   then decide each line's scope, a line without an age of its own taking the birth date its
   member's lines agree on (one more aggregation, per patient).
3. Bucket the checked lines by a hash of patient_id (`pmod(xxhash64(patient_id), N)`), so every
   patient's lines meet in one bucket, and run `find_issues` on each bucket (`applyInPandas`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

try:
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("igrt_edits.spark needs PySpark: pip install 'igrt-edits[spark]'") from exc

from igrt_edits.catalog.load import load_catalog
from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import Config
from igrt_edits.contract import FINDINGS_SCHEMA
from igrt_edits.errors import RunError
from igrt_edits.ingest.columns import ColumnMap, match_columns
from igrt_edits.ingest.context import ContextOptions
from igrt_edits.ingest.readers import Extract, discover, plan_read, rename_columns
from igrt_edits.rules.engine import RuleSet
from igrt_edits.run.check import build_ruleset, context_options
from igrt_edits.run.conflicts import MIXED_CLAIM_REASON, REPEATED_LINE_REASON
from igrt_edits.run.distributed import (
    BUCKET_SCHEMA,
    FILE,
    LINE,
    REJECT,
    STAGED_SCHEMA,
    find_in_bucket,
    scope,
    stage_extract,
    stage_file,
)
from igrt_edits.run.local import LoadOptions
from igrt_edits.run.spark.accounting import ERROR, SOURCE_COLUMNS, SparkRun, staged_files
from igrt_edits.run.spark.output import local_path
from igrt_edits.run.spark.session import spark_session

STAGED_DDL = from_arrow_schema(STAGED_SCHEMA)
FINDINGS_DDL = from_arrow_schema(FINDINGS_SCHEMA)
STAGED_BATCH_ROWS = 50_000
"""Rows per Arrow batch handed back to Spark: the JVM holds a whole batch while converting it."""
LINES_PER_BUCKET = 250_000
"""Default bucket size: one find_issues call per bucket holds about this many lines."""
BROADCAST_CLAIMS = 1_000_000
"""Conflicting keys up to which they are sent to every worker instead of shuffled."""



def check_files(
    paths: Sequence[str],
    config: Config,
    *,
    spark: SparkSession | None = None,
    catalog: Catalog | None = None,
    buckets: int | None = None,
) -> tuple[Catalog, RuleSet, SparkRun]:
    """Lint the files, directories or globs in `paths` together, as `runner.run_check` does."""
    started = time.perf_counter()
    spark = spark or spark_session()
    catalog = catalog or load_catalog(extra=config.extra_edits)
    ruleset = build_ruleset(catalog, config)
    files, skipped = discover(paths)
    load = LoadOptions(user_map=config.columns, delimiter=config.delimiter)
    context = context_options(config)
    raw = spark.read.format("binaryFile").load([str(p.resolve()) for p in files])
    names = {str(p.resolve()): (i, str(p)) for i, p in enumerate(files)}

    def stage(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri, content in zip(
                batch.column("path").to_pylist(), batch.column("content").to_pylist(), strict=True
            ):
                index, name = names[local_path(uri)]
                for table in _stage_file(name, content, index, load, context):
                    yield from table.to_batches(max_chunksize=STAGED_BATCH_ROWS)

    staged = raw.select("path", "content").mapInArrow(stage, STAGED_DDL)
    run = _finish(spark, staged, ruleset, context, buckets, started)
    run.skipped_files = [str(p) for p in skipped]
    return catalog, ruleset, run


def _stage_file(
    name: str, content: bytes, index: int, load: LoadOptions, context: ContextOptions
) -> Iterator[pa.Table]:
    try:
        plan = plan_read(
            Path(name),
            user_map=load.user_map,
            delimiter=load.delimiter,
            passthrough=load.passthrough,
            content=content,
        )
        yield from stage_file(plan, index, context)
    except RunError as error:
        yield _error_row(index, name, str(error))


def _error_row(index: int, name: str, message: str) -> pa.Table:
    row = {f.name: pa.nulls(1, f.type) for f in STAGED_SCHEMA}
    row["record"] = pa.array([ERROR])
    row["file_index"] = pa.array([index], pa.int32())
    row["source_file"] = pa.array([name])
    row["reject_reason"] = pa.array([message])
    return pa.table(row, schema=STAGED_SCHEMA)


def check_dataframe(
    frame: DataFrame,
    config: Config | None = None,
    *,
    catalog: Catalog | None = None,
    buckets: int | None = None,
    name: str = "dataframe",
) -> SparkRun:
    """Lint the claim lines of a Spark DataFrame (canonical or mapped column names).

    Rows keep their `source_file` and `source_row` when the DataFrame has those columns;
    otherwise every row is named `name` and numbered in the DataFrame's order from 2 (as a
    spreadsheet numbers the rows under a header). That order is fixed for a DataFrame read
    straight from files or a table; after a shuffle, give the columns instead.
    """
    started = time.perf_counter()
    config = config or Config()
    catalog = catalog or load_catalog(extra=config.extra_edits)
    ruleset = build_ruleset(catalog, config)
    headers = [c for c in frame.columns if c not in SOURCE_COLUMNS]
    columns = match_columns(headers, name, config.columns)
    if not all(c in frame.columns for c in SOURCE_COLUMNS):
        frame = with_row_numbers(frame).withColumn("source_file", F.lit(name))
    picked = frame.select(
        *[F.col(f"`{c}`") for c in columns.source_columns()],
        F.col("source_file").cast("string"),
        F.col("source_row").cast("long"),
    )
    context = context_options(config)

    def stage(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from _stage_batch(pa.Table.from_batches([batch]), columns, context)

    staged = picked.mapInArrow(stage, STAGED_DDL)
    return _finish(frame.sparkSession, staged, ruleset, context, buckets, started)


def _stage_batch(
    table: pa.Table, columns: ColumnMap, context: ContextOptions
) -> Iterator[pa.RecordBatch]:
    """Stage one batch of DataFrame rows, one source file at a time."""
    files = table.column("source_file").to_numpy(zero_copy_only=False)
    for source in pd.unique(files):
        rows = table.filter(pa.array(files == source))
        lines = rename_columns(rows.drop_columns(list(SOURCE_COLUMNS)), columns)
        extract = Extract(
            path=Path(str(source)),
            format="dataframe",
            columns=columns,
            table=lines,
            source_rows=rows.column("source_row").to_numpy(),
            rows_read=rows.num_rows,
        )
        try:
            staged = pa.concat_tables(
                [stage_extract(extract, 0, context), _batch_row(rows.num_rows, columns)]
            )
        except RunError as error:
            staged = _error_row(0, str(source), str(error))
        staged = staged.set_column(
            staged.schema.get_field_index("source_file"),
            "source_file",
            pa.array(np.full(staged.num_rows, str(source), dtype=object), pa.string()),
        )
        yield from staged.to_batches(max_chunksize=STAGED_BATCH_ROWS)


def _batch_row(rows: int, columns: ColumnMap) -> pa.Table:
    """The summary row of a batch of DataFrame rows (summed per source_file later)."""
    row = {f.name: pa.nulls(1, f.type) for f in STAGED_SCHEMA}
    row["record"] = pa.array([FILE])
    row["file_index"] = pa.array([0], pa.int32())
    row["format"] = pa.array(["dataframe"])
    row["size_bytes"] = pa.array([0], pa.int64())
    row["rows_read"] = pa.array([rows], pa.int64())
    row["has_diagnosis"] = pa.array([columns.has("diagnosis_codes")])
    return pa.table(row, schema=STAGED_SCHEMA)


def with_row_numbers(frame: DataFrame, column: str = "source_row", first: int = 2) -> DataFrame:
    """Number the rows in the DataFrame's order (partition by partition) from `first`.

    Each row's position in its partition comes from monotonically_increasing_id (its low 33
    bits); one small aggregation counts the rows of each partition to offset them.
    """
    partition = F.spark_partition_id()
    position = F.monotonically_increasing_id() - F.shiftleft(partition.cast("long"), 33)
    tagged = frame.withColumn("_partition", partition).withColumn("_position", position)
    counts = tagged.groupBy("_partition").count().orderBy("_partition").collect()
    starts, total = [], 0
    for row in counts:
        starts.append((row["_partition"], total))
        total += row["count"]
    offsets = frame.sparkSession.createDataFrame(starts, "_partition int, _start long")
    numbered = tagged.join(F.broadcast(offsets), "_partition")
    numbered = numbered.withColumn(column, F.col("_start") + F.col("_position") + first)
    return numbered.drop("_partition", "_position", "_start")


def _finish(
    spark: SparkSession,
    staged: DataFrame,
    ruleset: RuleSet,
    context: ContextOptions,
    buckets: int | None,
    started: float,
) -> SparkRun:
    staged = staged.persist(StorageLevel.MEMORY_AND_DISK)
    files = staged_files(staged)
    lines, conflicts = _reject_conflicts(staged.where(F.col("record") == LINE))
    lines = _with_scope(lines, context)
    rejects = (
        staged.where(F.col("record") == REJECT)
        .select(
            "source_file",
            "source_row",
            "claim_id",
            F.col("reject_line_number").alias("line_number"),
            F.col("reject_column").alias("column"),
            F.col("reject_reason").alias("reason"),
        )
        .unionByName(conflicts)
    )
    if buckets is None:
        rows = sum(f.rows_read for f in files)
        buckets = max(spark.sparkContext.defaultParallelism, -(-rows // LINES_PER_BUCKET))
    findings = find_issues_spark(lines.where(F.col("in_scope")), ruleset, buckets)
    return SparkRun(
        spark=spark,
        ruleset=ruleset,
        staged=staged,
        files=files,
        lines=lines,
        rejects=rejects,
        findings=findings,
        skipped_files=[],
        started=started,
    )


def _reject_conflicts(lines: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(accepted lines, rejects) as pipeline.reject_conflicts decides, for lines of any size.

    Two aggregations find the claims under two patient ids (min != max patient_id per claim)
    and the repeated claim lines ((claim_id, line_number) counted more than once); both are
    rare, so their lines are picked out with joins against small tables.
    """
    mixed = (
        lines.groupBy("claim_id")
        .agg((F.min("patient_id") != F.max("patient_id")).alias("mixed"))
        .where(F.col("mixed"))
        .select("claim_id")
    )
    repeated = (
        lines.groupBy("claim_id", "line_number")
        .count()
        .where(F.col("count") > 1)
        .select("claim_id", "line_number")
    )
    mixed, repeated = _small(mixed), _small(repeated)
    in_mixed = lines.join(mixed, "claim_id")
    rest = lines.join(mixed, "claim_id", "left_anti")
    keys = ["claim_id", "line_number"]
    in_repeated = rest.join(repeated, keys)
    conflicts = _conflict_rejects(in_mixed, "patient_id", MIXED_CLAIM_REASON).unionByName(
        _conflict_rejects(in_repeated, "line_number", REPEATED_LINE_REASON)
    )
    return rest.join(repeated, keys, "left_anti"), conflicts


def _with_scope(lines: DataFrame, context: ContextOptions) -> DataFrame:
    """Accepted lines with `in_scope`, decided as the local run does (`distributed.scope`).

    One aggregation finds the birth date each member's lines agree on (min == max); the
    scope itself is worked out batch by batch with the local run's functions.
    """
    born = lines.where(F.col("patient_birth_date").isNotNull())
    member = (
        born.groupBy("patient_id")
        .agg(F.min("patient_birth_date").alias("_low"), F.max("patient_birth_date").alias("_high"))
        .where(F.col("_low") == F.col("_high"))
        .select("patient_id", F.col("_low").alias("_member_birth"))
    )
    joined = lines.join(member, "patient_id", "left")
    out_schema = joined.drop("_member_birth").schema.add("in_scope", "boolean", False)

    def scoped(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            member_birth = table.column("_member_birth").combine_chunks()
            flags = pa.array(scope(table, member_birth, context))
            table = table.drop_columns(["_member_birth"]).append_column("in_scope", flags)
            yield from table.to_batches()

    return joined.mapInArrow(scoped, out_schema)


def _small(frame: DataFrame) -> DataFrame:
    """A table of conflicting keys, cached, and broadcast to the joins when it is small."""
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    return F.broadcast(frame) if frame.count() <= BROADCAST_CLAIMS else frame


def _conflict_rejects(lines: DataFrame, column: str, reason: str) -> DataFrame:
    return lines.select(
        "source_file",
        "source_row",
        "claim_id",
        F.col("line_number").cast("string").alias("line_number"),
        F.lit(column).alias("column"),
        F.lit(reason).alias("reason"),
    )


def find_issues_spark(checked: DataFrame, ruleset: RuleSet, buckets: int) -> DataFrame:
    """Findings of checked lines (BUCKET_SCHEMA columns), one `find_issues` per patient bucket."""
    bucket = F.pmod(F.xxhash64("patient_id"), F.lit(buckets))
    grouped = checked.select(*BUCKET_SCHEMA.names).withColumn("_bucket", bucket)

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        return find_in_bucket(frame, ruleset)

    return grouped.groupBy("_bucket").applyInPandas(run, FINDINGS_DDL)
