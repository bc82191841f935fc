"""The `igrt-edits` command: wires configuration, the pipeline and the reporters together."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from igrt_edits.catalog.load import kinds as kind_table
from igrt_edits.catalog.load import load_catalog
from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import Config, check_rate, load_config, parse_delimiter, parse_mapping
from igrt_edits.contract import EXIT_INTERRUPTED, EXIT_RUN_ERROR, FAIL_ON, ROW_ACCOUNTING
from igrt_edits.errors import ConfigError, RunError
from igrt_edits.report import explain as explain_report
from igrt_edits.report import kinds as kinds_report
from igrt_edits.report.atomic import sigterm_as_exit
from igrt_edits.report.formats import FORMATS
from igrt_edits.report.outputs import (
    OutputOptions,
    plan_outputs,
    report_findings,
    stream_setting,
    write_outputs,
)
from igrt_edits.report.progress import RunProgress, progress_wanted
from igrt_edits.report.redact import DEFAULT_KEY_ENV, key_from_env
from igrt_edits.report.table import make_console
from igrt_edits.run.check import build_ruleset, run_check
from igrt_edits.run.on_spark import run_on_spark
from igrt_edits.run.result import RunResult
from igrt_edits.util.memory import release_freed_memory, reuse_freed_memory
from igrt_edits.version import __version__

log = logging.getLogger("igrt_edits")
REJECTS_LOGGED = 100


def _split(values: Iterable[str]) -> tuple[str, ...]:
    """Rule selectors from repeated and/or comma-separated options."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="igrt-edits")
def main() -> None:
    """Lint IGRT claim lines against payer policy and CMS coding edits."""


FILE = click.Path(dir_okay=False)
PREVIEW_HELP = "Also run preview rules selected by a prefix (without it: only by their id)."
OUTPUT = click.Path()  # Spark may write Parquet findings as a directory (the plan checks)
ENGINES = ("local", "spark")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Findings format (default: from --output's suffix, else table).",
)
@click.option(
    "-o",
    "--output",
    type=OUTPUT,
    help="Write findings to FILE (atomically) instead of stdout; .json .jsonl .csv .parquet"
    " .sarif .xml (JUnit) .xlsx .html pick the format. With --engine spark, Parquet is a"
    " directory.",
)
@click.option(
    "--annotated",
    type=FILE,
    help="Write every input line with its status and findings to FILE (.csv or .parquet).",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=FILE,
    help="Write rejected rows with reasons to FILE (.csv or .parquet).",
)
@click.option(
    "--xlsx",
    "xlsx_path",
    type=FILE,
    help="Also write an Excel workbook (summary, findings, rejects, rules) to FILE.",
)
@click.option(
    "--html",
    "html_path",
    type=FILE,
    help="Also write a self-contained HTML report (figures, charts, findings) to FILE.",
)
@click.option(
    "--summary",
    "summary_path",
    type=FILE,
    help="Write the run summary (inputs with SHA-256, row accounting, counts) to FILE as JSON.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    help="Lowest severity that makes the exit status 1 (default: error).",
)
@click.option(
    "--exit-zero", is_flag=True, help="Exit 0 even with findings (2 still means failure)."
)
@click.option("--statistics", is_flag=True, help="Print counts per rule instead of findings.")
@click.option(
    "--baseline",
    "baseline_path",
    type=FILE,
    help="Report and fail only on findings not in this baseline; list its stale entries.",
)
@click.option(
    "--write-baseline",
    "write_baseline_path",
    type=FILE,
    help="Write the fingerprints of this run's findings to FILE as a baseline.",
)
@click.option(
    "--redact",
    is_flag=True,
    help="Replace patient ids with keyed tokens and drop birth dates in every output.",
)
@click.option(
    "--redact-key-env",
    default=DEFAULT_KEY_ENV,
    show_default=True,
    metavar="NAME",
    help="Environment variable that holds the redaction key.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes on stderr.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log progress and each rejected row (with claim ids and values) to stderr.",
)
@click.option(
    "--config",
    "config_path",
    type=FILE,
    help="Configuration file (default: igrt-edits.toml or pyproject.toml found upward).",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="CANONICAL=SOURCE",
    help="Map a contract column to a source column; repeatable.",
)
@click.option("--delimiter", help="CSV delimiter (default: detected among , | tab ;).")
@click.option(
    "--max-reject-rate",
    type=float,
    help="Fail (exit 2) when more than this share of rows is rejected.",
)
@click.option(
    "--select", multiple=True, help="Rule ids or prefixes to apply (comma-separated or repeated)."
)
@click.option("--ignore", multiple=True, help="Rule ids or prefixes to skip.")
@click.option("--preview", is_flag=True, help=PREVIEW_HELP)
@click.option(
    "--adult-age",
    type=int,
    help="Members younger than this on the service date are out of scope (default 19).",
)
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Lint partition by partition through temporary files, for inputs larger than memory"
    " (default: automatic above 2 GB of input).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="local",
    show_default=True,
    help="Run in this process, or on Apache Spark (needs the spark extra).",
)
@click.option(
    "--buckets",
    type=click.IntRange(min=1),
    help="Spark: patient buckets (default: about 250,000 lines each, at least one per core).",
)
def check(
    paths: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    annotated: str | None,
    rejects_path: str | None,
    xlsx_path: str | None,
    html_path: str | None,
    summary_path: str | None,
    fail_on: str | None,
    exit_zero: bool,
    statistics: bool,
    baseline_path: str | None,
    write_baseline_path: str | None,
    redact: bool,
    redact_key_env: str,
    quiet: bool,
    verbose: bool,
    config_path: str | None,
    mappings: tuple[str, ...],
    delimiter: str | None,
    max_reject_rate: float | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    preview: bool,
    adult_age: int | None,
    stream: bool | None,
    engine: str,
    buckets: int | None,
) -> None:
    """Lint claim lines in PATHS (CSV or Parquet files, directories, globs) together."""
    started = time.perf_counter()
    setup_logging(verbose, quiet)
    try:
        with sigterm_as_exit():
            config = load_config(Path(config_path) if config_path else None)
            config = config.override(
                columns={**config.columns, **parse_mapping(mappings)} if mappings else None,
                delimiter=parse_delimiter(delimiter) if delimiter else None,
                max_reject_rate=check_rate(max_reject_rate)
                if max_reject_rate is not None
                else None,
                select=_split(select) or None,
                ignore=_split(ignore) or None,
                preview=preview or None,
                adult_age=adult_age,
                fail_on=fail_on,
            )
            plan = plan_outputs(
                OutputOptions(
                    fmt=fmt,
                    output=output,
                    annotated=annotated,
                    rejects=rejects_path,
                    summary=summary_path,
                    baseline=baseline_path,
                    write_baseline=write_baseline_path,
                    statistics=statistics,
                    exit_zero=exit_zero,
                    fail_on=config.fail_on,
                    quiet=quiet,
                    redact_key=key_from_env(redact_key_env) if redact else None,
                    engine_writes_parquet=engine == "spark",
                    xlsx=xlsx_path,
                    html=html_path,
                )
            )
            log.info("checking %s", ", ".join(paths))
            with RunProgress(progress_wanted(quiet) and engine == "local") as progress:
                if engine == "spark":
                    catalog, ruleset, result = run_on_spark(
                        paths,
                        config,
                        stream=stream,
                        buckets=buckets,
                        keeps_lines=plan.keeps_lines,
                        findings_path=plan.options.output if plan.engine_writes_findings else None,
                        redactor=plan.redactor,
                        columns=plan.driver_columns,
                    )
                else:
                    streaming = stream_setting(plan, paths, stream)
                    if not streaming:  # streaming is for bounded memory; this is for speed
                        reuse_freed_memory()
                    catalog, ruleset, result = run_check(
                        paths,
                        config,
                        stream=streaming,
                        keep_lines=plan.keeps_lines,
                        passthrough=plan.needs_passthrough,
                        line_details=plan.needs_line_details,
                        progress=progress,
                    )
                    release_freed_memory()  # the run's lines are gone; the findings stay
                reported = report_findings(plan, result, catalog, ruleset, started)
                if plan.writes_stdout:
                    progress.stop()  # the findings go to the terminal the bar is on
                else:
                    progress("write", 0, 1)
                write_outputs(plan, reported, result, catalog, ruleset)
            log_run(result, rejects_path)
    except RunError as error:
        click.echo(f"igrt-edits: error: {error}", err=True)
        sys.exit(error.exit_code)
    except OSError as error:  # an output could not be written (disk full, permissions)
        where = f"{error.filename}: " if error.filename else ""
        click.echo(f"igrt-edits: error: {where}{error.strerror or error}", err=True)
        sys.exit(EXIT_RUN_ERROR)
    except KeyboardInterrupt:
        # Outputs are written atomically: their temporary files are already gone.
        click.echo("igrt-edits: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(reported.status)


def setup_logging(verbose: bool, quiet: bool = False) -> None:
    """Log to stderr: warnings (none with --quiet), or (verbose) progress and rejected rows.

    Without --verbose no log line carries a member identifier, a claim id or a value from
    the extract: only paths and counts.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("igrt-edits: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)


def log_run(result: RunResult, rejects_path: str | None) -> None:
    """Skipped files and rejected rows (details, with ids and values, only when verbose)."""
    if result.skipped_files:
        log.warning(
            "skipped %d file(s) that are not CSV or Parquet: %s",
            len(result.skipped_files),
            ", ".join(result.skipped_files),
        )
    for summary in result.files:
        counts = summary.accounting()
        log.info(
            "%s: %d rows read, %d checked, %d rejected, %d out of scope",
            summary.path,
            *(counts[k] for k in ROW_ACCOUNTING),
        )
    rejected = result.rejects.num_rows
    if rejected:
        hint = "" if rejects_path else " (--rejects FILE lists them with reasons)"
        log.warning("%d row(s) rejected%s", rejected, hint)
    if log.isEnabledFor(logging.DEBUG):
        for row in result.rejects.slice(0, REJECTS_LOGGED).to_pylist():
            log.debug(
                "rejected %s row %s (claim %s line %s): %s",
                row["source_file"],
                row["source_row"],
                row["claim_id"],
                row["line_number"],
                row["reason"],
            )
        if rejected > REJECTS_LOGGED:
            log.debug("... and %d more rejected rows", rejected - REJECTS_LOGGED)


CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file."
)


@contextmanager
def _or_exit() -> Iterator[None]:
    """A RunError inside becomes its one-line message on stderr and exit status 2."""
    try:
        yield
    except RunError as error:
        click.echo(f"igrt-edits: error: {error}", err=True)
        sys.exit(error.exit_code)


def _load(config_path: str | None) -> tuple[Config, Catalog]:
    config = load_config(Path(config_path) if config_path else None)
    return config, load_catalog(extra=config.extra_edits)


@main.command()
@CONFIG
@click.option("--preview", is_flag=True, help=PREVIEW_HELP)
def rules(config_path: str | None, preview: bool) -> None:
    """List the rules: id, name, severity (off: not applied) and what each flags."""
    with _or_exit():
        config, catalog = _load(config_path)
        ruleset = build_ruleset(catalog, config.override(preview=preview or None))
    explain_report.print_rules(make_console(sys.stdout), catalog, ruleset)


@main.command()
@click.argument("rule_id")
@CONFIG
def explain(rule_id: str, config_path: str | None) -> None:
    """Explain RULE_ID: what it checks, why, how to fix the claim, its codes and source."""
    with _or_exit():
        config, catalog = _load(config_path)
        rule = catalog.rule(rule_id)
        severity = config.severity.get(rule.id)
        rule = rule.with_severity(severity) if severity else rule
    explain_report.print_explanation(make_console(sys.stdout), catalog, rule)


@main.command()
@click.argument("name", required=False)
@CONFIG
def kinds(name: str | None, config_path: str | None) -> None:
    """List the rule kinds, or document kind NAME: what it flags, its parameters, examples."""
    with _or_exit():
        _, catalog = _load(config_path)
        known = kind_table()
        if name is not None and name not in known:
            raise ConfigError(f"unknown rule kind {name!r} (kinds: {', '.join(known)})")
    console = make_console(sys.stdout)
    if name is None:
        kinds_report.print_kinds(console, known, catalog)
    else:
        kinds_report.print_kind(console, known[name], catalog)


@main.command()
@click.option(
    "--lines", "count", type=click.IntRange(min=1), required=True, help="Number of claim lines."
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed; the same seed gives the same file.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output file (.parquet, .csv, or .837 for an X12 837P/837I interchange).",
)
@click.option(
    "--violation-rate",
    type=float,
    default=0.02,
    show_default=True,
    help="Per rule, the share of courses given its violation (one per course at most).",
)
@click.option(
    "--miscoding",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of billing providers coding every 2015-2025 claim for the wrong scheme"
    " (0.9 flags about a third of the lines).",
)
def generate(count: int, seed: int, out: str, violation_rate: float, miscoding: float) -> None:
    """Write a synthetic radiation-oncology claims extract (for trials and benchmarks)."""
    from igrt_edits.synth.generate import write_extract

    if not out.lower().endswith((".parquet", ".pq", ".csv", ".837", ".x12", ".edi")):
        raise click.BadParameter(
            "the output must end in .parquet, .pq, .csv or .837 (.x12, .edi)", param_hint="--out"
        )
    try:
        written = write_extract(
            out, count, seed, violation_rate=violation_rate, miscoding=miscoding
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    click.echo(f"wrote {written} lines to {out}", err=True)


@main.command(name="bench")
@click.option(
    "--sizes", default="1m,10m", show_default=True, help="Extract sizes (1k 10k 100k 1m 10m 100m)."
)
@click.option(
    "--formats",
    default="parquet,csv",
    show_default=True,
    help="Input formats to time (parquet, csv, x12: an 837 of the same lines).",
)
@click.option(
    "--runs", type=click.IntRange(1, 50), default=3, show_default=True, help="Runs of each command."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default="bench-data",
    show_default=True,
    help="Where generated extracts are kept and reused.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed of the generated extracts."
)
@click.option("--stream", is_flag=True, help="Also time --stream runs against the in-memory check.")
@click.option(
    "--extracts",
    default="clean,dirty",
    show_default=True,
    help="Extracts to time: clean (about 0.5% of lines flagged), dirty (about a third).",
)
@click.option(
    "--reports",
    "report_size",
    metavar="SIZE",
    help="Instead, time writing the workbook and the HTML report of SIZE findings (e.g. 1m).",
)
def bench_command(
    sizes: str,
    formats: str,
    runs: int,
    data_dir: str,
    seed: int,
    stream: bool,
    extracts: str,
    report_size: str | None,
) -> None:
    """Time `check` against reading the same file (whole processes, medians, ratios)."""
    from igrt_edits.synth.bench import EXTRACTS, FLOOR, SIZES, bench

    if report_size is not None:
        from igrt_edits.synth.report_bench import bench_reports

        if report_size.lower() not in SIZES:
            raise click.BadParameter(
                f"unknown size {report_size!r} ({', '.join(SIZES)})", param_hint="--reports"
            )
        lines = bench_reports(SIZES[report_size.lower()], lambda m: click.echo(m, err=True))
        click.echo("\n".join(lines))
        return

    chosen = [s.strip().lower() for s in sizes.split(",") if s.strip()]
    kinds = [f.strip().lower() for f in formats.split(",") if f.strip()]
    if unknown := [s for s in chosen if s not in SIZES]:
        raise click.BadParameter(
            f"unknown size {unknown[0]!r} ({', '.join(SIZES)})", param_hint="--sizes"
        )
    if unknown := [f for f in kinds if f not in FLOOR]:
        raise click.BadParameter(
            f"unknown format {unknown[0]!r} (parquet, csv, x12)", param_hint="--formats"
        )
    which = [e.strip().lower() for e in extracts.split(",") if e.strip()]
    if unknown := [e for e in which if e not in EXTRACTS]:
        raise click.BadParameter(
            f"unknown extract {unknown[0]!r} ({', '.join(EXTRACTS)})", param_hint="--extracts"
        )
    lines = bench(
        chosen,
        kinds,
        runs,
        Path(data_dir),
        seed,
        stream,
        lambda m: click.echo(m, err=True),
        extracts=which,
    )
    click.echo("\n".join(lines))
