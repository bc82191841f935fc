"""The edit engine: normalized lines of whole patients in, findings out.

`find_issues` is a pure function of a pandas DataFrame, so the same code lints a whole run in
memory, one partition of a larger-than-memory run, or one bucket of patients on Spark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.catalog.rule import Catalog, Rule
from igrt_edits.rules.build import dictionary_ranks, pending_findings
from igrt_edits.rules.findings import (
    details_as_objects,
    empty_findings,
    findings_frame,
    take_in_order,
)
from igrt_edits.rules.kinds.base import RunOptions
from igrt_edits.rules.lines import Lines
from igrt_edits.util.arrow import from_series
from igrt_edits.util.memory import release_freed_memory


@dataclass(frozen=True)
class RuleSet:
    """The rules a run applies (after selection and severity overrides) and their options."""

    rules: tuple[Rule, ...]
    options: RunOptions = field(default_factory=RunOptions)

    @staticmethod
    def build(
        catalog: Catalog,
        *,
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        severity: dict[str, str] | None = None,
        options: RunOptions | None = None,
        preview: bool = False,
    ) -> RuleSet:
        """Rules chosen by id or prefix (ruff-style select/ignore), with severities overridden.

        As in ruff, a rule's status gates it: a `preview` rule runs only when selected by its
        id, or by a prefix with `preview`; with `preview`, a `deprecated` rule runs only when
        selected by its id.
        """
        select = [s.upper() for s in select] or [""]
        ignore = [s.upper() for s in ignore]
        chosen = []
        for rule in catalog.rules.values():
            by_prefix = any(rule.id.startswith(s) for s in select)
            if not by_prefix or any(rule.id.startswith(s) for s in ignore):
                continue
            if rule.id not in select and not _prefix_selects(rule.status, preview):
                continue
            override = (severity or {}).get(rule.id)
            chosen.append(rule.with_severity(override) if override else rule)
        return RuleSet(tuple(chosen), options or RunOptions())


def _prefix_selects(status: str, preview: bool) -> bool:
    """Whether a rule of this status is selected by a prefix (or by default)."""
    if status == "preview":
        return preview
    return not (status == "deprecated" and preview)


def find_issues(frame: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Findings for normalized lines holding whole patients (see lines.ENGINE_COLUMNS).

    The findings are in the contract's order, backed by Arrow arrays (see `findings_frame`).
    """
    return run_rules([frame], ruleset).findings


@dataclass(frozen=True)
class Outcome:
    """What the rules found in one set of lines."""

    findings: pd.DataFrame
    charges_flagged: float
    """Sum of charge_amount over the distinct flagged lines (0 without the column)."""


def run_rules(frames: list[pd.DataFrame], ruleset: RuleSet, details: bool = False) -> Outcome:
    """`find_issues` of the one frame in `frames`, taken out of the list, with the flagged
    charges; with `details`, each finding carries its line's provider and charge
    (LINE_DETAIL_FIELDS, after the contract's).

    The texts made per finding (claim ids, related lines, messages, fingerprints) are made
    once the lines are let go: when nothing else holds the frame, the lines and the findings
    are never in memory together.
    """
    frame = frames.pop()
    if frame.empty or not ruleset.rules:
        return Outcome(empty_findings(details), 0.0)
    lines = Lines(frame)
    del frame
    pending, rows, ranks = [], [], []
    for rank, rule in sorted_rules(ruleset):
        hits = rule.kind.find(lines, ruleset.options)
        if len(hits.rows):
            found, flagged = pending_findings(rule, hits, lines)
            if details:
                found.columns |= _line_details(lines.frame, flagged)
            pending.append(found)
            rows.append(flagged)
            ranks.append(np.full(len(flagged), rank, dtype=np.int32))
        del hits
    if not pending:
        return Outcome(empty_findings(details), 0.0)
    flagged = np.zeros(lines.n, dtype=bool)
    for positions in rows:
        flagged[positions] = True
    charges = _flagged_charges(lines, np.flatnonzero(flagged))
    del flagged
    del lines, rows
    release_freed_memory()
    claims = pending[0].claim.dictionary  # every rule's claim ids index the lines' claims
    claim = np.concatenate([np.asarray(p.claim.indices) for p in pending])
    line = np.concatenate([p.line for p in pending])
    order = np.lexsort((np.concatenate(ranks), line, dictionary_ranks(claim, claims)))
    del claim, line
    parts = []
    while pending:
        parts.append(pa.table(pending.pop(0).finish()))
    held = [pa.concat_tables(parts)]
    del parts
    findings = findings_frame(take_in_order(held, order))
    return Outcome(details_as_objects(findings) if details else findings, charges)


def _line_details(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, pa.Array]:
    """The provider and charge of the lines at `rows`."""
    if "provider_id" in frame.columns:
        provider = from_series(frame["provider_id"], pa.string()).take(pa.array(rows))
    else:
        provider = pa.nulls(len(rows), pa.string())
    charge = frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)[rows]
    return {"provider_id": provider, "charge_amount": pa.array(charge, pa.float64())}


def _flagged_charges(lines: Lines, rows: np.ndarray) -> float:
    """Sum of charge_amount over the flagged lines `rows` (sorted), file by file."""
    if "charge_amount" not in lines.frame.columns:
        return 0.0
    charges = lines.frame["charge_amount"].to_numpy(dtype=float, na_value=np.nan)
    files = lines.source_file.ids[rows]
    total = 0.0
    for index in range(len(lines.source_file.values)):  # one pass per input file
        chosen = rows[files == index]
        if len(chosen):
            total += float(np.nansum(charges[chosen]))
    return total


def sorted_rules(ruleset: RuleSet) -> list[tuple[int, Rule]]:
    """(rank of the rule id in string order, rule), in the rule set's order."""
    ranks = {rule_id: i for i, rule_id in enumerate(sorted({r.id for r in ruleset.rules}))}
    return [(ranks[rule.id], rule) for rule in ruleset.rules]
