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

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa

try:
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("igrt_edits.spark needs PySpark: pip install 'igrt-edits[spark]'") from exc

from igrt_edits.catalog.load import load_catalog
from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import Config
from igrt_edits.contract import FINDING_FIELDS, FINDINGS_ORDER, FINDINGS_SCHEMA, REJECT_SCHEMA
from igrt_edits.errors import InputError, RunError
from igrt_edits.ingest.columns import ColumnMap, match_columns
from igrt_edits.ingest.context import ContextOptions
from igrt_edits.ingest.readers import Extract, discover, plan_read, rename_columns
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import SUMMARY_FIELDS
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.findings import order_findings, plain_findings
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
from igrt_edits.run.result import (
    FileSummary,
    LineCounts,
    RunResult,
    check_reject_rate,
    sort_rejects,
)

ERROR = "error"
"""`record` of the staged row of a file that cannot be read (its message in reject_reason)."""
STAGED_DDL = from_arrow_schema(STAGED_SCHEMA)
FINDINGS_DDL = from_arrow_schema(FINDINGS_SCHEMA)
SOURCE_COLUMNS = ("source_file", "source_row")
DRIVER_COLUMNS = SUMMARY_FIELDS
"""Findings columns `write_findings` collects by default: enough for the summary and the exit
status."""
LOCAL_DRIVER_MEMORY = "4g"
"""Heap of a Spark that igrt-edits starts itself (SPARK_DRIVER_MEMORY or spark-submit's
--driver-memory choose another)."""
STAGED_BATCH_ROWS = 50_000
"""Rows per Arrow batch handed back to Spark: the JVM holds a whole batch while converting it."""
LINES_PER_BUCKET = 250_000
"""Default bucket size: one find_issues call per bucket holds about this many lines."""
BROADCAST_CLAIMS = 1_000_000
"""Conflicting keys up to which they are sent to every worker instead of shuffled."""


def spark_session(app_name: str = "igrt-edits") -> SparkSession:
    """The active Spark session, or a new one (local mode unless spark-submit says otherwise).

    Spark's Python workers run `python3` from PATH unless PYSPARK_PYTHON is set; a new session
    points them at this interpreter, which has igrt-edits installed.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if not any(k in os.environ for k in ("SPARK_DRIVER_MEMORY", "PYSPARK_SUBMIT_ARGS")):
        # Started from the plain command (no spark-submit): the driver is also the local
        # executor, and Spark's 1 GB default heap is too small for a file of a few hundred MB
        # read whole (its bytes, their Arrow copy and the cached lines).
        builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    return builder.getOrCreate()


@dataclass
class SparkRun:
    """A Spark run: findings and rejects as Spark DataFrames, and the run's accounting.

    `findings` has the contract's fields (service_date as `YYYY-MM-DD` text); `rejects` has the
    columns of the local run's rejects output.
    """

    spark: SparkSession
    ruleset: RuleSet
    staged: DataFrame
    files: list[FileSummary]
    """One summary per input file, in run order (rows read; the rest is counted by result)."""
    lines: DataFrame
    """Accepted lines (in scope or not) with their derived context."""
    rejects: DataFrame
    findings: DataFrame
    skipped_files: list[str]
    started: float

    @property
    def checked(self) -> DataFrame:
        return self.lines.where(F.col("in_scope"))

    def result(self, max_reject_rate: float | None = None) -> RunResult:
        """Collect the findings, rejects and counts into the local run's RunResult.

        `lines` holds only the flagged lines' file, row and charge (what the summary's
        charges_flagged reads), never all the lines.
        """
        rejects, groups = self._accounting(max_reject_rate)
        return self._result(rejects, groups, _findings_frame(self.findings.toArrow()))

    def write_findings(
        self,
        path: str,
        max_reject_rate: float | None = None,
        *,
        redactor: Redactor | None = None,
        columns: Sequence[str] = DRIVER_COLUMNS,
    ) -> RunResult:
        """Write the findings with Spark as Parquet (a directory, in contract order).

        The files hold what the local run's Parquet output holds: the same columns and types
        (service_date as a date) and, with `redactor`, patient ids as its tokens. Nothing is
        written when the reject share is over its limit. On a local file system the directory
        replaces `path` (a file or directory) only once it is complete. Returns the run's
        result with only `columns` of the findings (read back from the written files, service
        dates as text), so the driver never holds all of them.
        """
        rejects, groups = self._accounting(max_reject_rate)
        written = output_findings(self.findings, redactor)
        local = _local_directory(self.spark, path)
        if local is None:
            _parquet_writer(written).parquet(path)
        else:
            _replace_directory(written, local)
        columns = list(dict.fromkeys((*FINDINGS_ORDER, *columns)))
        light = self.spark.read.parquet(local.resolve().as_uri() if local else path).select(
            *[F.col(c).cast("string") if c == "service_date" else F.col(c) for c in columns]
        )
        return self._result(rejects, groups, _findings_frame(light.toArrow(), columns))

    def unpersist(self) -> None:
        self.staged.unpersist()

    # --- accounting -----------------------------------------------------------------------
    def _accounting(self, max_reject_rate: float | None) -> tuple[pa.Table, pd.DataFrame]:
        """(sorted rejects, line counts by file, scope, setting and scheme); checks the share."""
        rejects = _sorted_rejects(self.rejects.toArrow())
        groups = (
            self.lines.groupBy("source_file", "in_scope", "setting", "scheme").count().toPandas()
        )
        # An unknown setting or scheme is null; the summary names it "unknown", as locally.
        groups = groups.fillna({"setting": "", "scheme": ""})
        rejected = pd.Series(rejects.column("source_file").to_pylist()).value_counts()
        for summary in self.files:
            mine = groups[groups["source_file"] == summary.path]
            summary.rows_checked = int(mine.loc[mine["in_scope"], "count"].sum())
            summary.rows_out_of_scope = int(mine.loc[~mine["in_scope"], "count"].sum())
            summary.rows_rejected = int(rejected.get(summary.path, 0))
        check_reject_rate(self.files, max_reject_rate)
        return rejects, groups

    def _result(self, rejects: pa.Table, groups: pd.DataFrame, findings: pd.DataFrame):
        checked = groups[groups["in_scope"]]
        distinct = self.checked.agg(
            F.countDistinct("patient_id").alias("patients"),
            F.countDistinct("claim_id").alias("claims"),
        ).first()
        counts = LineCounts(
            settings=_named_counts(checked, "setting"),
            schemes=_named_counts(checked, "scheme"),
            patients=int(distinct.patients),
            claims=int(distinct.claims),
            charges_flagged=self._flagged_charges(findings),
        )
        return RunResult.of(
            findings,
            rejects,
            self.files,
            counts,
            self.ruleset.rules,
            skipped_files=self.skipped_files,
            wall_seconds=time.perf_counter() - self.started,
        )

    def _flagged_charges(self, findings: pd.DataFrame) -> float:
        """Sum of charge_amount over the distinct flagged lines, added in the local run's order
        (file, then row) so the float sum is the same."""
        if findings.empty:
            return 0.0
        index = {f.path: i for i, f in enumerate(self.files)}
        flagged = findings[list(SOURCE_COLUMNS)].drop_duplicates()
        keys = pd.DataFrame(
            {
                "_file": flagged["source_file"].map(index).to_numpy(np.int32),
                "source_row": flagged["source_row"].to_numpy(np.int64),
            }
        )
        wanted = self.spark.createDataFrame(keys, "_file int, source_row long")
        charges = (
            self.checked.select(F.col("file_index").alias("_file"), "source_row", "charge_amount")
            .join(F.broadcast(wanted), ["_file", "source_row"])
            .select("_file", "source_row", "charge_amount")
            .toArrow()
            .sort_by([("_file", "ascending"), ("source_row", "ascending")])
        )
        values = np.asarray(charges.column("charge_amount").to_numpy(zero_copy_only=False), float)
        return float(np.nansum(values))


def staged_files(staged: DataFrame) -> list[FileSummary]:
    """One summary per input file (rows read, format, size), in run order.

    Raises the error of the first file (in run order) that could not be read, as a local run
    stops on it.
    """
    rows = (
        staged.where(F.col("record").isin(FILE, ERROR))
        .groupBy("record", "file_index", "source_file", "format")
        .agg(
            F.sum("size_bytes").alias("size_bytes"),
            F.sum("rows_read").alias("rows_read"),
            F.max("has_diagnosis").alias("has_diagnosis"),
            F.min("reject_reason").alias("error"),
        )
        .orderBy("file_index", "source_file")
        .collect()
    )
    errors = [r.error for r in rows if r.record == ERROR]
    if errors:
        raise InputError(errors[0])
    return [
        FileSummary(
            r.source_file,
            r.format,
            int(r.size_bytes or 0),
            int(r.rows_read),
            has_diagnosis=bool(r.has_diagnosis),
        )
        for r in rows
    ]


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


def _parquet_writer(frame: DataFrame) -> DataFrameWriter:
    """Parquet compressed as the local run's Parquet output is (zstd)."""
    return frame.write.mode("overwrite").option("compression", "zstd")


def _local_directory(spark: SparkSession, path: str) -> Path | None:
    """The local directory Spark writes `path` to, or None for another file system (a URI
    such as s3:// or dbfs:/, or a plain path where the cluster's default is HDFS)."""
    context = spark.sparkContext
    hadoop = context._jvm.org.apache.hadoop.fs
    scheme = hadoop.Path(path).toUri().getScheme()
    if scheme is None:
        default = hadoop.FileSystem.getDefaultUri(context._jsc.hadoopConfiguration())
        return Path(path) if default.getScheme() in (None, "file") else None
    return Path(_local_path(path)) if scheme == "file" else None


def _replace_directory(frame: DataFrame, target: Path) -> None:
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
        _parquet_writer(frame).parquet(temp.resolve().as_uri())
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


def _named_counts(groups: pd.DataFrame, column: str) -> dict[str, int]:
    totals = groups.groupby(column)["count"].sum()
    named = {("unknown" if k == "" else str(k)): int(v) for k, v in totals.items()}
    return dict(sorted(named.items()))


def _sorted_rejects(rejects: pa.Table) -> pa.Table:
    return sort_rejects(rejects.select(REJECT_SCHEMA.names).cast(REJECT_SCHEMA))


def _findings_frame(table: pa.Table, names: Sequence[str] = FINDING_FIELDS) -> pd.DataFrame:
    """Collected findings (all their fields, or `names`) with the local run's column types,
    in contract order."""
    return order_findings(plain_findings(table, names))


# --- running --------------------------------------------------------------------------------


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
                index, name = names[_local_path(uri)]
                for table in _stage_file(name, content, index, load, context):
                    yield from table.to_batches(max_chunksize=STAGED_BATCH_ROWS)

    staged = raw.select("path", "content").mapInArrow(stage, STAGED_DDL)
    run = _finish(spark, staged, ruleset, context, buckets, started)
    run.skipped_files = [str(p) for p in skipped]
    return catalog, ruleset, run


def _local_path(uri: str) -> str:
    """The file system path in a URI as Spark names a file (`file:/data/x.csv`)."""
    return unquote(urlparse(uri).path)


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
