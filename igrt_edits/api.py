"""The Python API for notebooks and pipelines: `igrt_edits.check(data) -> Result`.

The same run as `igrt-edits check`: the same configuration (found upward from the working
directory unless given), the same engine, reporters and exit status. Findings and rejects come
back as the DataFrames that `--format parquet` and `--rejects FILE.parquet` would write. Every
error is a `RunError` (ConfigError, InputError, ... are its kinds) with the CLI's message.

    import igrt_edits
    result = igrt_edits.check("extract.csv", select=["IGRT004"])
    result.findings.groupby("rule_id").size()
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from igrt_edits.config import (
    FAIL_ON,
    Config,
    check_rate,
    load_config,
    parse_delimiter,
    parse_mapping,
)
from igrt_edits.errors import ConfigError, InputError, RunError
from igrt_edits.report.digest import ReportData
from igrt_edits.report.frames import findings_table
from igrt_edits.report.outputs import (
    OutputOptions,
    plan_outputs,
    report_data,
    report_findings,
    write_report,
)
from igrt_edits.run.check import run_check, run_check_parquet

PathLike: TypeAlias = str | os.PathLike[str]
Data: TypeAlias = pd.DataFrame | pa.Table | PathLike | Sequence[PathLike]
OPTIONS = (
    "columns",
    "delimiter",
    "max_reject_rate",
    "select",
    "ignore",
    "severity",
    "adult_age",
    "fail_on",
    "stream",
    "redact_key",
    "baseline",
    "name",
)
"""What `check` accepts as keyword options (each as the CLI option or config key of that name;
`name` is what findings call in-memory data, `redact_key` turns on redaction)."""
DATAFRAME_NAME = "<DataFrame>"
TABLE_NAME = "<Table>"


@dataclass(frozen=True)
class Result:
    """A finished check: its findings, rejects and summary, and the analyst reports."""

    findings: pd.DataFrame
    """One row per finding, the contract's fields in order (as --format parquet writes)."""
    rejects: pd.DataFrame
    """Rejected rows with file, row, claim, line, column and reason (as --rejects writes)."""
    summary: dict[str, Any]
    """The run summary (as --summary writes): row accounting, counts, inputs, rules."""
    exit_status: int
    """What `igrt-edits check` would exit with (0 clean, 1 findings at the threshold)."""
    _report: ReportData = field(repr=False)

    def to_excel(self, path: PathLike) -> Path:
        """Write the workbook (Summary, Findings, Rejects, Rules sheets); returns its path."""
        return self._write(path, "xlsx")

    def to_html(self, path: PathLike) -> Path:
        """Write the self-contained HTML report; returns its path."""
        return self._write(path, "html")

    def _write(self, path: PathLike, fmt: str) -> Path:
        target = Path(path)
        if not target.parent.is_dir():
            raise ConfigError(f"{target}: directory {target.parent} does not exist")
        try:
            write_report(str(target), fmt, self._report)
        except OSError as error:
            raise RunError(f"{target}: {error.strerror or error}") from error
        return target

    def __repr__(self) -> str:
        s = self.summary
        severity = s["findings_by_severity"]
        return (
            f"<Result: {s['findings']:,} findings ({severity['error']:,} errors,"
            f" {severity['warning']:,} warnings, {severity['info']:,} info) on"
            f" {s['lines_flagged']:,} lines; rows read {s['rows_read']:,}, checked"
            f" {s['rows_checked']:,}, rejected {s['rows_rejected']:,}, out of scope"
            f" {s['rows_out_of_scope']:,}>"
        )


def check(data: Data, config: Config | PathLike | None = None, **options: Any) -> Result:
    """Check claim lines: a pandas DataFrame, a pyarrow Table, or CSV/Parquet paths
    (files, directories, globs).

    `config`: a Config, a configuration file, or None for the one `igrt-edits check` would
    find. `options` (see OPTIONS) override it as the CLI's options do, e.g.
    `select=["IGRT004"]`, `columns={"procedure_code": "HCPCS_CD"}`, `fail_on="warning"`.
    Raises RunError (or one of its kinds) with the message the CLI prints.
    """
    started = time.perf_counter()
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} (options: {', '.join(OPTIONS)})")
    settings = _config(config, options)
    redact_key = options.get("redact_key")
    if isinstance(redact_key, str):
        redact_key = redact_key.encode("utf-8")
    in_memory = isinstance(data, pd.DataFrame | pa.Table)
    plan = plan_outputs(  # the reporters' settings, as the CLI makes them
        OutputOptions(
            fmt="json",
            baseline=_text_path(options.get("baseline")),
            fail_on=settings.fail_on,
            quiet=True,
            redact_key=redact_key,
            hash_inputs=not in_memory,  # in-memory data has no file to hash
        )
    )
    keep_lines = plan.keeps_lines
    if isinstance(data, pd.DataFrame | pa.Table):
        if options.get("stream"):
            raise ConfigError("stream=True reads files: in-memory data is checked in memory")
        name = str(options.get("name") or _default_name(data))
        extract = (name, _parquet_bytes(data, name))
        catalog, ruleset, result = run_check_parquet(
            [extract], settings, keep_lines=keep_lines, line_details=True
        )
    else:
        catalog, ruleset, result = run_check(
            _paths(data),
            settings,
            stream=options.get("stream"),
            keep_lines=keep_lines,
            line_details=True,
        )
    reported = report_findings(plan, result, catalog, ruleset, started)
    report = report_data(plan, reported, result, catalog, ruleset)
    return Result(
        findings=findings_table(reported.findings).to_pandas(),
        rejects=report.rejects.to_pandas(),
        summary=reported.summary,
        exit_status=reported.status,
        _report=report,
    )


def _config(config: Config | PathLike | None, options: Mapping[str, Any]) -> Config:
    """The configuration, with the options applied as the CLI applies its own."""
    if isinstance(config, Config):
        base = config
    else:
        base = load_config(Path(config) if config is not None else None)
    columns = options.get("columns")
    mapping = None
    if columns is not None:
        items = tuple(
            f"{canonical}={source}"
            for canonical, sources in dict(columns).items()
            for source in ([sources] if isinstance(sources, str) else sources)
        )
        mapping = {**base.columns, **parse_mapping(items)}
    fail_on = options.get("fail_on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(f"fail_on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    rate = options.get("max_reject_rate")
    delimiter = options.get("delimiter")
    severity = options.get("severity")
    return base.override(
        columns=mapping,
        delimiter=parse_delimiter(delimiter, "delimiter") if delimiter else None,
        max_reject_rate=check_rate(rate, "max_reject_rate") if rate is not None else None,
        select=_rules(options.get("select")),
        ignore=_rules(options.get("ignore")),
        severity={**base.severity, **{k.upper(): v for k, v in severity.items()}}
        if severity
        else None,
        adult_age=options.get("adult_age"),
        fail_on=fail_on,
    )


def _rules(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Rule selectors from a comma-separated string or a list, as the CLI takes them."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip()) or None


def _text_path(path: PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)


def _paths(data: Any) -> list[str]:
    if isinstance(data, str | os.PathLike):
        return [os.fspath(data)]
    if isinstance(data, Sequence) and data and all(isinstance(p, str | os.PathLike) for p in data):
        return [os.fspath(p) for p in data]
    raise InputError(
        f"data: expected a pandas DataFrame, a pyarrow Table, or paths; got {type(data).__name__}"
    )


def _default_name(data: pd.DataFrame | pa.Table) -> str:
    return DATAFRAME_NAME if isinstance(data, pd.DataFrame) else TABLE_NAME


def _parquet_bytes(data: pd.DataFrame | pa.Table, name: str) -> bytes:
    """The data as Parquet in memory, read from there as a Parquet file would be."""
    table = data if isinstance(data, pa.Table) else _arrow(data, name)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _arrow(frame: pd.DataFrame, name: str) -> pa.Table:
    """A DataFrame as Arrow; a column mixing kinds of value (numbers and text, as spreadsheets
    give) is read as text, so its values are checked, not refused."""
    frame = frame.rename(columns=str)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    columns = {}
    for column in frame.columns:
        try:
            columns[column] = pa.array(frame[column], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[column] = pa.array(frame[column].astype("string"), from_pandas=True)
        except pa.ArrowNotImplementedError as error:
            raise InputError(f"{name}: column {column!r} cannot be read ({error})") from error
    return pa.table(columns)
