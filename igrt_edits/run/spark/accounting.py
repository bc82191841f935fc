"""A finished Spark run: its findings and rejects as DataFrames, and every row accounted for.

`SparkRun.result` and `SparkRun.write_findings` collect what the reporters read into the local
run's `RunResult`, never every line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from igrt_edits.contract import FINDING_FIELDS, FINDINGS_ORDER, REJECT_SCHEMA
from igrt_edits.errors import InputError
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import SUMMARY_FIELDS
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.findings import order_findings, plain_findings
from igrt_edits.run.distributed import FILE
from igrt_edits.run.result import (
    FileSummary,
    LineCounts,
    RunResult,
    check_reject_rate,
    sort_rejects,
)
from igrt_edits.run.spark.output import (
    local_directory,
    output_findings,
    parquet_writer,
    replace_directory,
)

ERROR = "error"
"""`record` of the staged row of a file that cannot be read (its message in reject_reason)."""
SOURCE_COLUMNS = ("source_file", "source_row")
DRIVER_COLUMNS = SUMMARY_FIELDS
"""Findings columns `write_findings` collects by default: enough for the summary and the exit
status."""


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
        return self._result(rejects, groups, findings_frame(self.findings.toArrow()))

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
        local = local_directory(self.spark, path)
        if local is None:
            parquet_writer(written).parquet(path)
        else:
            replace_directory(written, local)
        columns = list(dict.fromkeys((*FINDINGS_ORDER, *columns)))
        light = self.spark.read.parquet(local.resolve().as_uri() if local else path).select(
            *[F.col(c).cast("string") if c == "service_date" else F.col(c) for c in columns]
        )
        return self._result(rejects, groups, findings_frame(light.toArrow(), columns))

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


def _named_counts(groups: pd.DataFrame, column: str) -> dict[str, int]:
    totals = groups.groupby(column)["count"].sum()
    named = {("unknown" if k == "" else str(k)): int(v) for k, v in totals.items()}
    return dict(sorted(named.items()))


def _sorted_rejects(rejects: pa.Table) -> pa.Table:
    return sort_rejects(rejects.select(REJECT_SCHEMA.names).cast(REJECT_SCHEMA))


def findings_frame(table: pa.Table, names: Sequence[str] = FINDING_FIELDS) -> pd.DataFrame:
    """Collected findings (all their fields, or `names`) with the local run's column types,
    in contract order."""
    return order_findings(plain_findings(table, names))
