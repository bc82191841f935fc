"""Everything `check` writes after a run: findings, annotated lines, rejects, summary, baseline,
and the analyst reports (workbook, HTML).

`plan_outputs` checks the options before the run (a bad option stops it before any output is
written); `write_outputs` then applies the baseline and redaction to the run's findings,
writes each requested output atomically and returns the exit status.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from igrt_edits.catalog.rule import Catalog
from igrt_edits.contract import FINDING_FIELDS
from igrt_edits.errors import ConfigError
from igrt_edits.ingest.readers import discover
from igrt_edits.report import github, jsonout, junit, sarif, statistics, tabular
from igrt_edits.report.annotated import annotated_table
from igrt_edits.report.atomic import atomic_path, atomic_text
from igrt_edits.report.baseline import Baseline, apply_baseline, read_baseline, write_baseline
from igrt_edits.report.digest import ReportData
from igrt_edits.report.formats import (
    BINARY_FORMATS,
    FILE_FORMATS,
    REPORT_FORMATS,
    format_for,
    tabular_format,
)
from igrt_edits.report.frames import findings_slices
from igrt_edits.report.gate import exit_status
from igrt_edits.report.redact import Redactor
from igrt_edits.report.summary import SUMMARY_FIELDS, build_summary
from igrt_edits.report.table import make_console, render_table
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.findings import order_findings
from igrt_edits.run.check import should_stream
from igrt_edits.run.result import RunResult


@dataclass(frozen=True)
class OutputOptions:
    """What the user asked `check` to write, as given on the command line."""

    fmt: str | None = None
    output: str | None = None
    annotated: str | None = None
    rejects: str | None = None
    summary: str | None = None
    baseline: str | None = None
    write_baseline: str | None = None
    statistics: bool = False
    exit_zero: bool = False
    fail_on: str = "error"
    quiet: bool = False
    redact_key: bytes | None = None
    engine_writes_parquet: bool = False
    """The engine writes Parquet findings to the named output itself, as a directory (Spark)."""
    xlsx: str | None = None
    """A workbook to write beside the findings (--xlsx)."""
    html: str | None = None
    """An HTML report to write beside the findings (--html)."""
    hash_inputs: bool = False
    """Put each input's SHA-256 in the summary even when no output asks for it."""


URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
"""A URI's scheme (two characters at least: `C:` is a drive)."""
BASELINE_COLUMNS = ("fingerprint", "service_date", "procedure_code")
"""Further columns a written baseline reads."""


@dataclass(frozen=True)
class OutputPlan:
    """Options checked and resolved before the run."""

    options: OutputOptions
    fmt: str
    annotated_format: str | None
    rejects_format: str | None
    baseline: Baseline | None
    redactor: Redactor | None

    @property
    def writes_stdout(self) -> bool:
        return self.options.output is None

    @property
    def needs_lines(self) -> bool:
        """Outputs that list every line or claim need the run's lines kept in memory."""
        junit = self.fmt == "junit" and not self.options.statistics
        return self.annotated_format is not None or junit

    @property
    def keeps_lines(self) -> bool:
        """Keep the lines of an in-memory run: for these outputs, and a baseline's claims."""
        return self.needs_lines or self.baseline is not None

    @property
    def needs_passthrough(self) -> bool:
        """The annotated output echoes the extract's own extra columns (unless redacted)."""
        return self.annotated_format is not None and self.redactor is None

    def reports(self, fmt: str) -> list[str]:
        """Files to write the analyst report `fmt` (xlsx, html) to: the output, its option."""
        named = self.options.xlsx if fmt == "xlsx" else self.options.html
        return [p for p in (self.options.output if self.fmt == fmt else None, named) if p]

    @property
    def needs_line_details(self) -> bool:
        """An analyst report is wanted: they show each flagged line's provider and charge."""
        return self.fmt in REPORT_FORMATS or bool(self.options.xlsx or self.options.html)

    @property
    def hashes_inputs(self) -> bool:
        """The summary and the analyst reports list each input with its SHA-256."""
        options = self.options
        return bool(options.summary or options.hash_inputs or self.needs_line_details)

    @property
    def engine_writes_findings(self) -> bool:
        """The engine writes the findings (Parquet to a named output); the reporters the rest."""
        options = self.options
        return options.engine_writes_parquet and self.fmt == "parquet" and bool(options.output)

    @property
    def driver_columns(self) -> tuple[str, ...]:
        """Findings columns the reporters read when the engine writes the findings."""
        if self.needs_line_details:  # the analyst reports show every field
            return FINDING_FIELDS
        return SUMMARY_FIELDS + (BASELINE_COLUMNS if self.options.write_baseline else ())


def plan_outputs(options: OutputOptions, stdout: IO[str] | None = None) -> OutputPlan:
    """Resolve formats and read the baseline; any problem is a ConfigError (exit 2)."""
    stdout = stdout or sys.stdout
    fmt = format_for(options.fmt, options.output)
    if options.statistics and fmt not in statistics.STATISTICS_FORMATS:
        raise ConfigError(
            f"--statistics writes {', '.join(statistics.STATISTICS_FORMATS)}, not {fmt}"
        )
    if fmt in FILE_FORMATS and options.output is None:
        raise ConfigError(f"--format {fmt} writes a workbook: name a file with --output")
    if fmt in BINARY_FORMATS and options.output is None and _isatty(stdout):
        raise ConfigError(f"--format {fmt} is binary: name a file with --output")
    engine_output = options.engine_writes_parquet and fmt == "parquet"
    if not (engine_output and _is_uri(options.output)):
        _check_target("--output", options.output, directory_ok=engine_output)
    for option, path in (
        ("--annotated", options.annotated),
        ("--rejects", options.rejects),
        ("--summary", options.summary),
        ("--write-baseline", options.write_baseline),
        ("--xlsx", options.xlsx),
        ("--html", options.html),
    ):
        _check_target(option, path)
    return OutputPlan(
        options=options,
        fmt=fmt,
        annotated_format=tabular_format(options.annotated, "--annotated")
        if options.annotated
        else None,
        rejects_format=tabular_format(options.rejects, "--rejects", default="csv")
        if options.rejects
        else None,
        baseline=read_baseline(options.baseline) if options.baseline else None,
        redactor=Redactor(options.redact_key) if options.redact_key is not None else None,
    )


def stream_setting(plan: OutputPlan, paths: Sequence[str], stream: bool | None) -> bool:
    """Whether to stream (by option, else by input size); outputs that list every line need
    an in-memory run.

    Asked of a run that would stream, those outputs are an error before any work, naming
    --no-stream as the way to run it in memory anyway.
    """
    if not plan.needs_lines:
        return stream if stream is not None else should_stream(discover(paths)[0])
    wanted = "--annotated" if plan.annotated_format else "--format junit"
    if stream:
        raise ConfigError(f"{wanted} lists every line, which a --stream run does not keep")
    if stream is None and should_stream(discover(paths)[0]):
        raise ConfigError(
            f"{wanted} lists every line, and this input is large enough to be streamed;"
            " pass --no-stream to check it in memory"
        )
    return False


def _check_target(option: str, path: str | None, *, directory_ok: bool = False) -> None:
    """A file can be written at `path`: its directory exists, and it is not a directory
    (unless `directory_ok`: a Parquet directory written by the engine replaces it)."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir() and not directory_ok:
        raise ConfigError(f"{option} {path}: is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: directory {parent} does not exist")


def _is_uri(path: str | None) -> bool:
    """A URI with a scheme (s3://, hdfs://, dbfs:/, file:/) rather than a local path."""
    return bool(path and URI_SCHEME.match(path))


def _isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Reported:
    """A run's findings as reported (after baseline and redaction), with its summary."""

    findings: pd.DataFrame
    summary: dict[str, Any]
    status: int
    started: float
    """When the command started (perf_counter), for the summary's wall time."""


def report_findings(
    plan: OutputPlan,
    result: RunResult,
    catalog: Catalog,
    ruleset: RuleSet,
    started: float,
) -> Reported:
    """Apply the baseline (write one first if asked) and redaction; count; decide the exit."""
    options = plan.options
    findings = order_findings(result.findings)
    if options.write_baseline:
        write_baseline(options.write_baseline, findings)
    outcome = None
    if plan.baseline is not None:
        outcome = apply_baseline(
            findings,
            plan.baseline,
            {r.id for r in ruleset.rules},
            None
            if result.lines is None
            else result.lines.column("claim_id").unique().to_numpy(zero_copy_only=False),
        )
        findings = outcome.new
    if plan.redactor is not None and not plan.engine_writes_findings:
        # An engine that writes the findings redacts them as it writes; the rows here carry
        # no patient ids.
        findings = plan.redactor.findings(findings)
    status = exit_status(findings, options.fail_on, exit_zero=options.exit_zero)
    summary = build_summary(result, catalog, ruleset, findings, hashes=plan.hashes_inputs)
    summary["fail_on"] = options.fail_on
    summary["exit_status"] = status
    summary["redacted"] = plan.redactor is not None
    if outcome is not None:
        summary["baseline"] = outcome.summary()
    if options.write_baseline:
        summary["baseline_written"] = {
            "path": options.write_baseline,
            "entries": int(result.findings["fingerprint"].nunique()),
        }
    summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    return Reported(findings, summary, status, started)


def write_outputs(
    plan: OutputPlan,
    reported: Reported,
    result: RunResult,
    catalog: Catalog,
    ruleset: RuleSet,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> None:
    """Write the findings (or statistics), then the annotated lines, rejects and summary."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    options = plan.options
    if options.statistics:
        _write_statistics(plan, reported.findings, stdout)
    elif not plan.engine_writes_findings:
        _write_findings(plan, reported, result, catalog, ruleset, stdout)
    if plan.annotated_format and options.annotated:
        table = annotated_table(result, reported.findings, plan.redactor)
        _write_binary(options.annotated, plan.annotated_format, table, tabular.write_table)
    if plan.rejects_format and options.rejects:
        rejects = reported_rejects(plan, result)
        _write_binary(options.rejects, plan.rejects_format, rejects, tabular.write_table)
    if plan.needs_line_details:
        data = report_data(plan, reported, result, catalog, ruleset)
        for fmt in REPORT_FORMATS:
            for path in plan.reports(fmt):
                write_report(path, fmt, data)
    if options.summary:
        reported.summary["wall_seconds"] = round(time.perf_counter() - reported.started, 3)
        with atomic_text(options.summary, newline="\n") as out:
            json.dump(reported.summary, out, indent=2, ensure_ascii=False)
            out.write("\n")
    if not options.quiet:
        _notes(plan, reported, stderr)


def reported_rejects(plan: OutputPlan, result: RunResult) -> Any:
    """The run's rejects as outputs show them (reasons scrubbed when redacting)."""
    if plan.redactor is None:
        return result.rejects
    return plan.redactor.rejects(result.rejects)


def report_data(
    plan: OutputPlan, reported: Reported, result: RunResult, catalog: Catalog, ruleset: RuleSet
) -> ReportData:
    """What the analyst reports show: the findings and summary as reported."""
    return ReportData(
        reported.findings, reported.summary, reported_rejects(plan, result), catalog, ruleset
    )


def write_report(path: str, fmt: str, data: ReportData) -> None:
    """Write the workbook (xlsx) or the HTML report (html) to `path`, atomically."""
    if fmt == "xlsx":
        from igrt_edits.report.xlsx import write_workbook  # XlsxWriter only when asked for

        write_workbook(path, data)
    else:
        from igrt_edits.report.html import write_html

        write_html(path, data)


def _write_binary(path: str, fmt: str, table: Any, writer: Callable) -> None:
    with atomic_path(path) as temp:
        writer(str(temp), table, fmt)


def _write_statistics(plan: OutputPlan, findings: pd.DataFrame, stdout: IO[str]) -> None:
    path = plan.options.output
    if plan.fmt == "csv":
        if path:
            with atomic_path(path) as temp:
                statistics.write_statistics_csv(str(temp), findings)
        else:
            stdout.flush()
            statistics.write_statistics_csv(_binary(stdout), findings)
        return
    writer = (
        statistics.write_statistics_json if plan.fmt == "json" else statistics.write_statistics_text
    )
    if path:
        with atomic_text(path, newline="\n") as out:
            writer(out, findings)
    else:
        writer(stdout, findings)


def _binary(stream: IO[str]) -> Any:
    """The byte stream under a text stream (stdout), flushed first."""
    stream.flush()
    return getattr(stream, "buffer", stream)


def _write_findings(
    plan: OutputPlan,
    reported: Reported,
    result: RunResult,
    catalog: Catalog,
    ruleset: RuleSet,
    stdout: IO[str],
) -> None:
    fmt, path = plan.fmt, plan.options.output
    findings, summary = reported.findings, reported.summary
    if fmt == "html" and path is None:
        from igrt_edits.report.html import build_html

        stdout.write(build_html(report_data(plan, reported, result, catalog, ruleset)))
        return
    if fmt in REPORT_FORMATS:
        return  # written with the reports named by option (write_outputs)
    if fmt in ("csv", "parquet"):
        slices = findings_slices(findings)
        if path:
            _write_binary(path, fmt, slices, tabular.write_tables)
        else:
            tabular.write_tables(_binary(stdout), slices, fmt)
        return

    def emit(out: IO[str], terminal: bool) -> None:
        if fmt == "json":
            jsonout.write_json(out, findings, summary)
        elif fmt == "jsonl":
            jsonout.write_jsonl(out, findings)
        elif fmt == "sarif":
            sarif.write_sarif(out, sarif.sarif_log(findings, result, catalog, ruleset, summary))
        elif fmt == "junit":
            junit.junit_xml(findings, result, summary, out)
        elif fmt == "github":
            lines, _ = result.text_positions(findings["source_file"], findings["source_row"])
            github.write_github(out, findings, lines)
        else:
            console = make_console(out, color=None if terminal else False)
            render_table(console, findings, summary, places=_places(findings, result))

    if path:
        with atomic_text(path, newline="\n") as out:
            emit(out, terminal=False)
    else:
        emit(stdout, terminal=_isatty(stdout))


def _places(findings: pd.DataFrame, result: RunResult) -> list[str] | None:
    """How the table names where each flagged line is: `row N`, or for an X12 file
    `segment N, line L`; None when every file is a table (rows say it all)."""
    x12 = [f.path for f in result.files if f.format == "x12"]
    if findings.empty or not x12:
        return None
    lines, _ = result.text_positions(findings["source_file"], findings["source_row"])
    rows = findings["source_row"].astype(str)
    segments = "segment " + rows + ", line " + pd.Series(lines, findings.index).astype(str)
    return segments.where(findings["source_file"].isin(x12), "row " + rows).tolist()


def _notes(plan: OutputPlan, reported: Reported, stderr: IO[str]) -> None:
    """What an operator should know that the chosen output may not show (to stderr)."""
    summary = reported.summary
    written = summary.get("baseline_written")
    if written:
        stderr.write(
            f"igrt-edits: wrote baseline {written['path']} ({written['entries']} findings)\n"
        )
    baseline = summary.get("baseline")
    shows_baseline = plan.fmt == "table" and plan.options.output is None
    if baseline and baseline["stale"] and not shows_baseline:
        stderr.write(
            f"igrt-edits: {baseline['stale']} baseline entries in {baseline['path']} no longer"
            " occur (stale):\n"
        )
        for entry in baseline["stale_entries"][:10]:
            stderr.write(f"  {entry}\n")
        if baseline["stale"] > 10:
            stderr.write(f"  and {baseline['stale'] - 10} more (see the summary)\n")
    for note in _report_notes(plan, summary):
        stderr.write(f"igrt-edits: {note}\n")
    if plan.fmt == "sarif" and summary["findings"] > sarif.GITHUB_RESULT_LIMIT:
        stderr.write(
            f"igrt-edits: {summary['findings']} SARIF results; GitHub code scanning processes"
            f" at most {sarif.GITHUB_RESULT_LIMIT} per run (narrow the run or use a baseline)\n"
        )


def _report_notes(plan: OutputPlan, summary: dict[str, Any]) -> list[str]:
    """What the analyst reports leave out (each file also says so itself)."""
    if not plan.needs_line_details:
        return []
    from igrt_edits.report.html import TABLE_LIMIT
    from igrt_edits.report.xlsx import EXCEL_ROWS

    notes = []
    count = summary["findings"]
    if plan.reports("xlsx") and count > EXCEL_ROWS - 1:
        notes.append(
            f"{count:,} findings: the workbook's Findings sheet holds the first"
            f" {EXCEL_ROWS - 2:,} (Excel's row limit); --format parquet or csv writes them all"
        )
    if plan.reports("html") and count > TABLE_LIMIT:
        notes.append(
            f"{count:,} findings: the HTML report's table holds the top {TABLE_LIMIT:,}"
            " (its charts count them all)"
        )
    return notes
