"""The run summary: row accounting per file and in total, counts, what was skipped and why."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.rule import Catalog
from igrt_edits.contract import FINDINGS_ORDER, SEVERITIES
from igrt_edits.report.frames import text_ids
from igrt_edits.rules.engine import RuleSet
from igrt_edits.run.result import RunResult
from igrt_edits.util.grouping import distinct
from igrt_edits.version import __version__

SUMMARY_FIELDS = (*FINDINGS_ORDER, "severity", "source_file", "source_row")
"""The findings fields the summary and the exit status read (with those that order them)."""
HASH_CHUNK = 1 << 20


def build_summary(
    result: RunResult,
    catalog: Catalog,
    ruleset: RuleSet,
    findings: pd.DataFrame | None = None,
    *,
    hashes: bool = False,
) -> dict[str, Any]:
    """The summary object of the data contract (totals at the top, per file under `files`).

    `findings` are the reported ones (after a baseline; default: all of the run's). With
    `hashes`, each input file's SHA-256 is computed (one more read of every file).
    """
    findings = result.findings if findings is None else findings
    return {
        "version": __version__,
        "catalog_version": catalog.catalog_version,
        "edit_data_version": catalog.version,
        **result.totals(),
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "size_bytes": f.size_bytes,
                **({"sha256": file_sha256(f.path)} if hashes else {}),
                **f.accounting(),
            }
            for f in result.files
        ],
        "skipped_files": result.skipped_files,
        **finding_counts(findings),
        "charges_flagged": flagged_charges(result, findings),
        "claims_checked": result.claims_checked,
        "patients_checked": result.patients_checked,
        "lines_setting_unknown": result.setting_unknown,
        "settings_seen": result.settings_seen,
        "schemes_seen": result.schemes_seen,
        "rules_applied": [r.id for r in ruleset.rules],
        "rules_skipped": result.rules_skipped,
        "wall_seconds": round(result.wall_seconds, 3),
    }


def finding_counts(findings: pd.DataFrame) -> dict[str, Any]:
    """Findings in total, by rule (id order), by severity, and distinct lines flagged."""
    by_rule = findings["rule_id"].value_counts().rename(index=str).sort_index()
    by_severity = findings["severity"].value_counts()
    return {
        "findings": len(findings),
        "findings_by_rule": {str(k): int(v) for k, v in by_rule.items()},
        "findings_by_severity": {s: int(by_severity.get(s, 0)) for s in SEVERITIES},
        "lines_flagged": lines_flagged(findings),
    }


def lines_flagged(findings: pd.DataFrame) -> int:
    """Distinct (source file, source row) pairs among the findings."""
    if findings.empty:
        return 0
    file_index = text_ids(findings["source_file"]) + 1
    rows = findings["source_row"].to_numpy(dtype=np.int64)
    low = int(rows.min())
    pairs = file_index * (int(rows.max()) - low + 1) + (rows - low)
    return len(distinct(pairs)[0])


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def line_keys(file_index: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One int64 per (file number, spreadsheet row): how reporters join findings to lines."""
    return np.asarray(file_index, dtype=np.int64) * (1 << 40) + np.asarray(row, dtype=np.int64)


def finding_line_keys(result: RunResult, findings: pd.DataFrame) -> np.ndarray:
    index = {f.path: i for i, f in enumerate(result.files)}
    return line_keys(
        findings["source_file"].map(index).to_numpy(np.int64),
        findings["source_row"].to_numpy(np.int64),
    )


def flagged_charges(result: RunResult, findings: pd.DataFrame | None = None) -> float | None:
    """Sum of charge_amount over distinct flagged lines (0 when the extract has no charges).

    The run computed it for all its findings; for fewer (after a baseline) it is summed again
    from the lines, which a streamed run does not keep (then None: not known).
    """
    if findings is None or len(findings) == len(result.findings):
        return result.charges_flagged
    if not len(findings):
        return 0.0
    if result.lines is None:
        return None
    keys = np.unique(finding_line_keys(result, findings))
    lines = result.lines
    keyed = pc.add(
        pc.multiply(lines.column("_file").cast(pa.int64()), 1 << 40),
        lines.column("_row").cast(pa.int64()),
    )
    chosen = lines.column("charge_amount").filter(pc.is_in(keyed, value_set=pa.array(keys)))
    return round(float(np.nansum(chosen.to_numpy())), 2)
