"""The edit engine: normalized lines of whole patients in, findings out.

`find_issues` is a pure function of a pandas DataFrame, so the same code lints a whole run in
memory, one partition of a larger-than-memory run, or one bucket of patients on Spark.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.rule import Catalog, Rule
from igrt_edits.rules.findings import empty_findings, order_findings
from igrt_edits.rules.kinds.base import RunOptions
from igrt_edits.rules.lines import Hits, Lines, Related
from igrt_edits.util.grouping import join_per_group
from igrt_edits.util.hashing import fnv1a64, to_hex


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
    """Findings for normalized lines holding whole patients (see lines.ENGINE_COLUMNS)."""
    if frame.empty or not ruleset.rules:
        return empty_findings()
    lines = Lines(frame)
    parts = [
        _findings(rule, rule.kind.find(lines, ruleset.options), lines) for rule in ruleset.rules
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_findings()
    return order_findings(pd.concat(parts, ignore_index=True))


def _findings(rule: Rule, hits: Hits, lines: Lines) -> pd.DataFrame:
    rows = hits.rows
    if not len(rows):
        return empty_findings()
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    hit_of, related_rows = _related_positions(rows, hits.related)
    related_claims = lines.claim_id.text(related_rows)
    refs = related_claims + ":" + lines.line_text(related_rows)
    sort_by = [related_claims, lines.line_number[related_rows]]
    numbers = np.arange(len(rows))
    related_text = join_per_group(hit_of, refs, numbers, sort_by=sort_by)
    more = hits.related.total_of(rows) - np.bincount(hit_of, minlength=len(rows))
    related_text = np.where(
        more > 0, related_text + np.char.mod(" and %d more", np.maximum(more, 0)), related_text
    ).astype(object)
    claim, line, code, date = (
        lines.claim_id.text(rows),
        lines.line_text(rows),
        lines.code.text(rows),
        lines.date_text(rows),
    )
    modifiers = lines.modifiers.text(rows)
    fields = {
        "rule_id": np.full(len(rows), rule.id, dtype=object),
        "code": code,
        "date": date,
        "claim_id": claim,
        "line_number": line,
        "modifiers": modifiers,
        "setting": lines.setting.text(rows),
        "scheme": lines.scheme.text(rows),
        "component": lines.component.text(rows),
        "units": np.char.mod("%g", lines.units[rows]).astype(object),
        "related": related_text,
        "with_related": np.where(related_text != "", " (with " + related_text + ")", ""),
        "related_codes": join_per_group(hit_of, lines.code.text(related_rows), numbers),
    }
    fields.update({k: np.asarray(v, dtype=object)[order] for k, v in hits.fields.items()})
    template = None if hits.template is None else np.asarray(hits.template, dtype=object)[order]
    return pd.DataFrame(
        {
            "claim_id": claim,
            "line_number": lines.line_number[rows],
            "patient_id": lines.patient_id.text(rows),
            "service_date": date,
            "procedure_code": code,
            "modifiers": modifiers,
            "rule_id": rule.id,
            "rule_name": rule.name,
            "severity": rule.severity,
            "message": render_messages(rule.message, template, fields, len(rows)),
            "related_lines": _related_lists(hit_of, refs, sort_by, len(rows)),
            "policy_ref": rule.policy_ref,
            "carc": rule.carc,
            "source_file": lines.source_file.text(rows),
            "source_row": lines.frame["source_row"].to_numpy(dtype=np.int64)[rows],
            "fingerprint": fingerprints(rule.id, claim, line, code, date),
        }
    )


def _related_positions(rows: np.ndarray, related: Related):
    """(hit number, related line) for pairs whose flagged line is among `rows` (sorted)."""
    flagged, related = (np.asarray(p, dtype=np.int64) for p in (related.flagged, related.lines))
    hit = np.searchsorted(rows, flagged)
    keep = (hit < len(rows)) & (rows[np.minimum(hit, len(rows) - 1)] == flagged)
    return hit[keep], related[keep]


def _related_lists(hit_of, refs, sort_by, hits: int) -> list[list[str]]:
    """Every related line of each hit, ordered by claim and line number."""
    frame = pd.DataFrame({"h": hit_of, "ref": refs, "claim": sort_by[0], "line": sort_by[1]})
    frame = frame.drop_duplicates(["h", "ref"]).sort_values(["h", "claim", "line"])
    counts = np.bincount(frame["h"].to_numpy(dtype=np.int64), minlength=hits)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.array(frame["ref"].to_numpy(dtype=object), pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values).to_pylist()


def render_messages(
    default: str, templates: np.ndarray | None, fields: dict[str, np.ndarray], n: int
) -> np.ndarray:
    """Fill message templates from per-finding fields, one vector join per template."""
    if templates is None:
        return _render(default, fields, np.arange(n))
    out = np.empty(n, dtype=object)
    for template in pd.unique(templates):
        where = np.flatnonzero(templates == template)
        out[where] = _render(template, fields, where)
    return out


def _render(template: str, fields: dict[str, np.ndarray], where: np.ndarray) -> np.ndarray:
    parts: list[pa.Array | str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is not None:
            parts.append(pa.array(np.asarray(fields[name], dtype=object)[where].astype(str)))
    if not any(isinstance(p, pa.Array) for p in parts):
        return np.full(len(where), "".join(parts), dtype=object)
    joined = pc.binary_join_element_wise(*parts, "")
    return joined.to_numpy(zero_copy_only=False).astype(object)


def fingerprints(
    rule_id: str, claim: Sequence, line: Sequence, code: Sequence, date: Sequence
) -> np.ndarray:
    """Stable 16-hex-digit FNV-1a 64 hashes of `rule|claim|line|code|date` (UTF-8)."""
    texts = pc.binary_join_element_wise(
        rule_id,
        *(pa.array(np.asarray(v, dtype=object).astype(str)) for v in (claim, line, code, date)),
        "|",
    )
    return to_hex(fnv1a64(texts))
