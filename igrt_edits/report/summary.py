"""The run summary: row accounting per file and in total, counts, what was skipped and why."""

from __future__ import annotations

from typing import Any

from igrt_edits import __version__
from igrt_edits.catalog import Catalog
from igrt_edits.engine import RuleSet
from igrt_edits.pipeline import RunResult


def build_summary(result: RunResult, catalog: Catalog, ruleset: RuleSet) -> dict[str, Any]:
    """The summary object of the data contract (totals at the top, per file under `files`)."""
    findings = result.findings
    by_rule = findings["rule_id"].value_counts().sort_index() if len(findings) else {}
    by_severity = findings["severity"].value_counts() if len(findings) else {}
    return {
        "version": __version__,
        "edit_data_version": catalog.version,
        **result.totals(),
        "files": [
            {"path": f.path, "format": f.format, "size_bytes": f.size_bytes, **f.accounting()}
            for f in result.files
        ],
        "skipped_files": result.skipped_files,
        "findings": len(findings),
        "findings_by_rule": {k: int(v) for k, v in dict(by_rule).items()},
        "findings_by_severity": {
            s: int(dict(by_severity).get(s, 0)) for s in ("error", "warning", "info")
        },
        "lines_flagged": int(findings[["source_file", "source_row"]].drop_duplicates().shape[0])
        if len(findings)
        else 0,
        "charges_flagged": result.charges_flagged,
        "claims_checked": result.claims_checked,
        "patients_checked": result.patients_checked,
        "lines_setting_unknown": result.setting_unknown,
        "settings_seen": result.settings_seen,
        "schemes_seen": result.schemes_seen,
        "rules_applied": [r.id for r in ruleset.rules],
        "rules_skipped": result.rules_skipped,
        "wall_seconds": round(result.wall_seconds, 3),
    }
