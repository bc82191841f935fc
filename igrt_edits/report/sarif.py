"""Findings as SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

The tool driver lists the rules that have results, in catalog order (as ruff's SARIF lists
only the rules that appear in results), so a run's log does not change when the catalog gains a
rule that finds nothing. Each result points at the input file and the line's row
(`region.startLine`; a CSV row is a text line unless a quoted field spans lines; an X12 line
points at the line and column where its service segment starts, its `source_row` being the
segment number), names the claim and the claim line as logical locations and carries the
finding's fingerprint in `partialFingerprints`, so code scanning tracks the same finding across
runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import pandas as pd

from igrt_edits.catalog.rule import Catalog, Rule
from igrt_edits.contract import FINDING_FIELDS, ROW_ACCOUNTING
from igrt_edits.report.explain import paragraph
from igrt_edits.report.frames import file_uri, iter_finding_records
from igrt_edits.report.jsonout import compact_lines, write_array
from igrt_edits.rules.engine import RuleSet
from igrt_edits.run.result import RunResult
from igrt_edits.version import __version__

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "igrtFinding/v1"
SRCROOT = "%SRCROOT%"
TEXT_LIMIT = 1024
"""GitHub code scanning keeps rule descriptions up to this many characters."""
GITHUB_RESULT_LIMIT = 25_000
"""Results per run beyond which GitHub code scanning does not process a run's results."""
MIME_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "x12": "application/edi-x12",
}
RESULTS_MARK = "\u0000results"
PROPERTY_FIELDS = tuple(c for c in FINDING_FIELDS if c not in ("rule_id", "message"))
"""A result's properties: every finding field but those SARIF has its own place for."""


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def rule_descriptor(rule: Rule, active: Rule | None, carc_reason: str) -> dict[str, Any]:
    """A SARIF reportingDescriptor for a rule (with its severity in this run, if applied)."""
    severity = (active or rule).severity
    what, why, fix = (
        paragraph(t) for t in (rule.explanation.what, rule.explanation.why, rule.explanation.fix)
    )
    carc = f"CARC {rule.carc}" + (f": {carc_reason}" if carc_reason else "")
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _clip(rule.summary)},
        "fullDescription": {"text": _clip(what)},
        "help": {
            "text": f"{what}\n\nWhy: {why}\n\nFix: {fix}\n\nSource: {rule.policy_ref}\n"
            f"Suggested adjustment: {carc}",
            "markdown": f"{what}\n\n**Why it is wrong.** {why}\n\n**How to fix the claim.** {fix}"
            f"\n\n**Source.** {rule.policy_ref}\n\n**Suggested adjustment.** {carc}",
        },
        "defaultConfiguration": {"level": LEVEL[severity], "enabled": active is not None},
        "properties": {
            "tags": ["igrt", "claims", rule.kind.name],
            "severity": severity,
            "policy_ref": rule.policy_ref,
            "carc": rule.carc,
            "status": rule.status,
        },
    }


def sarif_log(
    findings: pd.DataFrame,
    result: RunResult,
    catalog: Catalog,
    ruleset: RuleSet,
    summary: dict[str, Any],
    base: Path | None = None,
) -> dict[str, Any]:
    """The SARIF log of one run; paths relative to `base` (default: working directory)."""
    base = (base or Path.cwd()).resolve()
    active = {r.id: r for r in ruleset.rules}
    fired = set(findings["rule_id"])
    rules = [r for r in catalog.rules.values() if r.id in fired]
    rule_index = {r.id: i for i, r in enumerate(rules)}
    artifacts = _artifacts(result, base)
    located = {
        f.path: _artifact_location(f.path, base, index) for index, f in enumerate(result.files)
    }
    lines, columns = result.text_positions(findings["source_file"], findings["source_row"])
    results = [
        _result(record, rule_index, located[record["source_file"]], _region(line, column))
        for record, line, column in zip(
            iter_finding_records(findings), lines.tolist(), columns.tolist(), strict=True
        )
    ]
    accounting = {k: summary[k] for k in ROW_ACCOUNTING}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "igrt-edits",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [
                            rule_descriptor(r, active.get(r.id), catalog.carc.get(r.carc, ""))
                            for r in rules
                        ],
                        "properties": {
                            "catalog_version": catalog.catalog_version,
                            "edit_data_version": catalog.version,
                        },
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": base.as_uri() + "/"}},
                "artifacts": artifacts,
                "invocations": [{"executionSuccessful": True, "properties": accounting}],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _artifacts(result: RunResult, base: Path) -> list[dict[str, Any]]:
    return [
        {
            "location": _artifact_location(f.path, base),
            "length": f.size_bytes,
            "mimeType": MIME_TYPES.get(f.format, "application/octet-stream"),
            "roles": ["analysisTarget"],
        }
        for f in result.files
    ]


def _artifact_location(path: str, base: Path, index: int | None = None) -> dict[str, Any]:
    uri, relative = file_uri(path, base)
    location: dict[str, Any] = {"uri": uri}
    if relative:
        location["uriBaseId"] = SRCROOT
    if index is not None:
        location["index"] = index
    return location


def _region(line: int, column: int) -> dict[str, int]:
    """Where a line sits: its row (CSV) or its segment's line and column (X12)."""
    return {"startLine": line, "startColumn": column} if column else {"startLine": line}


def _result(
    record: dict[str, Any],
    rule_index: dict[str, int],
    artifact: dict[str, Any],
    region: dict[str, int],
) -> dict[str, Any]:
    claim, line = record["claim_id"], record["line_number"]
    result: dict[str, Any] = {
        "ruleId": record["rule_id"],
        "ruleIndex": rule_index[record["rule_id"]],
        "level": LEVEL[record["severity"]],
        "message": {"text": record["message"]},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": dict(artifact),
                    "region": region,
                },
                "logicalLocations": [
                    {"name": claim, "fullyQualifiedName": claim, "kind": "claim"},
                    {
                        "name": f"line {line}",
                        "fullyQualifiedName": f"{claim}:{line}",
                        "kind": "claimLine",
                    },
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: record["fingerprint"]},
        "properties": {k: record[k] for k in PROPERTY_FIELDS},
    }
    if record["related_lines"]:
        result["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": f"related line {ref}"},
                "logicalLocations": [{"fullyQualifiedName": ref, "kind": "claimLine"}],
            }
            for i, ref in enumerate(record["related_lines"], start=1)
        ]
    return result


def write_sarif(out: IO[str], log: dict[str, Any]) -> None:
    """The log indented, except results: one compact result per line (fast, diffable)."""
    results = log["runs"][0]["results"]
    log["runs"][0]["results"] = RESULTS_MARK
    try:
        text = json.dumps(log, indent=2, ensure_ascii=False)
        head, tail = text.split(json.dumps(RESULTS_MARK))
    finally:
        log["runs"][0]["results"] = results
    out.write(head)
    indent = _indent_of_last_line(head) + 2
    write_array(out, compact_lines(results), indent=indent)
    out.write(tail)
    out.write("\n")


def _indent_of_last_line(text: str) -> int:
    last = text.rsplit("\n", 1)[-1]
    return len(last) - len(last.lstrip(" "))
