"""Run a check from a Config: catalog -> rule set -> pipeline. Used by the CLI and by tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from igrt_edits.catalog.model import Catalog, load_catalog
from igrt_edits.config import Config
from igrt_edits.errors import ConfigError
from igrt_edits.ingest.context import ContextOptions
from igrt_edits.ingest.readers import ReadPlan, plan_read
from igrt_edits.rules.engine import RuleSet
from igrt_edits.rules.kinds import RunOptions
from igrt_edits.run.local import LoadOptions, Progress, RunResult, lint, lint_plans


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
    return RuleSet.build(
        catalog,
        select=config.select,
        ignore=config.ignore,
        severity=config.severity,
        options=RunOptions(enabled_indications=frozenset(config.enable_indications)),
    )


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
    catalog = load_catalog(extra=config.extra_edits)
    ruleset = build_ruleset(catalog, config)
    load = load_options(config, keep_lines, line_details=line_details)
    plans: list[ReadPlan] = [
        plan_read(Path(name), user_map=load.user_map, content=content) for name, content in extracts
    ]
    result = lint_plans(plans, ruleset, context_options(config), load, config.max_reject_rate)
    return catalog, ruleset, result
