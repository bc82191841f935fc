"""Run a check from a Config: catalog -> rule set -> the run mode (in memory or streamed).

Used by the CLI and by tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from igrt_edits.catalog.load import load_catalog
from igrt_edits.catalog.rule import Catalog
from igrt_edits.config import Config
from igrt_edits.errors import ConfigError
from igrt_edits.ingest.context import ContextOptions
from igrt_edits.ingest.readers import ReadPlan, discover, plan_read
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.kinds.base import RunOptions
from igrt_edits.run.local import LoadOptions, Progress, lint_in_memory, lint_plans, quiet
from igrt_edits.run.result import RunResult
from igrt_edits.run.stream import lint_streamed

log = logging.getLogger("igrt_edits")

def build_ruleset(catalog: Catalog, config: Config) -> RuleSet:
    """Rules chosen by configuration; unknown rule ids or indication ids are errors."""
    for rule_id in config.severity:
        catalog.rule(rule_id)
    for selector in (*config.select, *config.ignore):
        if not any(r.startswith(selector.upper()) for r in catalog.rules):
            known = ", ".join(catalog.rules)
            raise ConfigError(f"select/ignore {selector!r} matches no rule ({known})")
    optional = {r.id for r in catalog.data.indications.ranges if r.optional}
    for row in config.enable_indications:
        if row not in optional:
            raise ConfigError(
                f"[indications] enable: {row!r} is not an optional indication row"
                f" (optional rows: {', '.join(sorted(optional))})"
            )
    ruleset = RuleSet.build(
        catalog,
        select=config.select,
        ignore=config.ignore,
        severity=config.severity,
        options=RunOptions(enabled_indications=frozenset(config.enable_indications)),
        preview=config.preview,
    )
    named = {s.upper() for s in config.select}
    for rule in ruleset.rules:
        if rule.status == "deprecated" and rule.id in named:
            log.warning("rule %s is deprecated and will be removed (%s)", rule.id, rule.source)
    return ruleset


def context_options(config: Config) -> ContextOptions:
    return ContextOptions.of(config.adult_age, config.cpt_payers, config.cpt_lines_of_business)


def run_check(
    paths: Sequence[str],
    config: Config,
    catalog: Catalog | None = None,
    stream: bool | None = None,
    *,
    keep_lines: bool = False,
    passthrough: bool = False,
    line_details: bool = False,
    progress: Progress | None = None,
) -> tuple[Catalog, RuleSet, RunResult]:
    """Lint `paths` as configured; returns the catalog and rule set used with the result.

    `stream`: True to lint partition by partition, False in memory, None to decide by size.
    `passthrough` keeps the columns the contract does not name (for annotated outputs);
    `line_details` gives each finding its line's provider and charge (for the analyst
    reports); `progress` is told how the run goes (see pipeline.Progress).
    """
    catalog = catalog or load_catalog(extra=config.extra_edits)
    ruleset = build_ruleset(catalog, config)
    result = lint(
        paths,
        ruleset,
        context_options(config),
        load_options(config, keep_lines, passthrough, line_details),
        config.max_reject_rate,
        stream=stream,
        progress=progress,
    )
    return catalog, ruleset, result


def load_options(
    config: Config, keep_lines: bool = False, passthrough: bool = False, line_details: bool = False
) -> LoadOptions:
    return LoadOptions(
        user_map=config.columns,
        delimiter=config.delimiter,
        passthrough=passthrough,
        keep_lines=keep_lines or passthrough,
        line_details=line_details,
    )


def run_check_parquet(
    extracts: Sequence[tuple[str, bytes]],
    config: Config,
    *,
    keep_lines: bool = False,
    line_details: bool = False,
) -> tuple[Catalog, RuleSet, RunResult]:
    """Lint extracts held in memory as Parquet bytes, each under a name (its `source_file`),
    exactly as the same files would be linted (in memory)."""
    started = time.perf_counter()
    catalog = load_catalog(extra=config.extra_edits)
    ruleset = build_ruleset(catalog, config)
    load = load_options(config, keep_lines, line_details=line_details)
    plans: list[ReadPlan] = [
        plan_read(Path(name), user_map=load.user_map, content=content) for name, content in extracts
    ]
    result = lint_plans(plans, ruleset, context_options(config), load, config.max_reject_rate)
    result.wall_seconds = time.perf_counter() - started
    return catalog, ruleset, result


def lint(
    paths: Sequence[str],
    ruleset: RuleSet,
    context: ContextOptions,
    load: LoadOptions | None = None,
    max_reject_rate: float | None = None,
    stream: bool | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Lint every line of the given files, directories or globs together.

    `stream=True` partitions the lines by patient to temporary files and checks one partition
    at a time (for inputs larger than memory); `None` streams when the inputs are large.
    """
    started = time.perf_counter()
    load = load or LoadOptions()
    progress = progress or quiet
    files, skipped = discover(paths)
    if stream or (stream is None and should_stream(files)):
        result = lint_streamed(files, ruleset, context, load, max_reject_rate, progress=progress)
    else:
        result = lint_in_memory(files, ruleset, context, load, max_reject_rate, progress)
    result.skipped_files = [str(p) for p in skipped]
    result.wall_seconds = time.perf_counter() - started
    return result


STREAM_ABOVE_BYTES = 2 << 30
"""Inputs larger than this (on disk) are linted in streaming mode unless told otherwise."""


def should_stream(files: Sequence) -> bool:
    return sum(path.stat().st_size for path in files) > STREAM_ABOVE_BYTES
