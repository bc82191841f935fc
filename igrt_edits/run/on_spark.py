"""A check run on Spark from the command's choices, as `run.check.run_check` runs one locally.

PySpark is an optional extra: it is imported only here, when a Spark run is asked for, and its
absence is a configuration error the user can act on.
"""

from __future__ import annotations

from collections.abc import Sequence

from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import Config
from igrt_edits.errors import ConfigError
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import SUMMARY_FIELDS
from igrt_edits.rules.engine import RuleSet
from igrt_edits.run.result import RunResult


def run_on_spark(
    paths: Sequence[str],
    config: Config,
    *,
    stream: bool | None = None,
    buckets: int | None = None,
    keeps_lines: bool = False,
    findings_path: str | None = None,
    redactor: Redactor | None = None,
    columns: Sequence[str] = SUMMARY_FIELDS,
) -> tuple[Catalog, RuleSet, RunResult]:
    """The check on Spark. With `findings_path`, Spark writes the Parquet findings there (a
    directory) and only `columns` of them are collected; otherwise the findings, rejects and
    counts are collected into a RunResult, so every output works as in a local run except those
    that read every line (`keeps_lines`), which stay on Spark."""
    if keeps_lines:
        raise ConfigError(
            "--annotated, --format junit and --baseline need --engine local"
            " (they read every line, which stays on Spark)"
        )
    if stream:
        raise ConfigError("--stream is a local-engine mode; Spark partitions by itself")
    try:
        from igrt_edits.run.spark.engine import check_files
    except ImportError as error:
        raise ConfigError(str(error)) from error
    catalog, ruleset, run = check_files(paths, config, buckets=buckets)
    try:
        if findings_path is None:
            return catalog, ruleset, run.result(config.max_reject_rate)
        result = run.write_findings(
            findings_path, config.max_reject_rate, redactor=redactor, columns=columns
        )
        return catalog, ruleset, result
    finally:
        run.unpersist()
