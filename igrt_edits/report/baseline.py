"""Baselines: accept today's findings, then report and fail only on new ones.

A baseline is a text file, one accepted finding a line, sorted like the findings, so it reads
well and diffs cleanly in review:

    # igrt-edits baseline v1
    f0542b85124b30bd  IGRT002  2025-04-16  G6015  FAC2025040900407:6

The fingerprint (first field) is what matches; the rest says which finding it was. Deleting a
line un-accepts that finding. Entries whose finding no longer occurs are *stale*: only entries
whose rule ran and whose claim was in the run can be stale (a narrower run proves nothing
about the others).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import ConfigError
from igrt_edits.report.atomic import atomic_text
from igrt_edits.rules.findings import text_column

HEADER = (
    "# igrt-edits baseline v1\n"
    "# Accepted findings: fingerprint, rule, service date, code, claim:line.\n"
    "# Runs with --baseline report only findings not listed here. Delete a line to stop\n"
    "# accepting that finding; rewrite the file with --write-baseline.\n"
)
ENTRY = re.compile(r"^([0-9a-f]{16})\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+?):(\d+)\s*$")
ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
UNESCAPES = {v: k for k, v in ESCAPES.items()}


@dataclass(frozen=True)
class Baseline:
    """A parsed baseline: one row per entry (fingerprint, rule_id, claim_id, text)."""

    path: str
    entries: pd.DataFrame


@dataclass
class BaselineOutcome:
    """Findings a baseline does not accept, and how the baseline compares with the run."""

    new: pd.DataFrame
    path: str
    entries: int
    matched: int
    stale: list[str] = field(default_factory=list)
    not_checked: int = 0

    def summary(self) -> dict:
        return {
            "path": self.path,
            "entries": self.entries,
            "matched": self.matched,
            "new_findings": len(self.new),
            "stale": len(self.stale),
            "stale_entries": self.stale,
            "not_checked": self.not_checked,
        }


def _escape(text: str) -> str:
    return re.sub(r"[\\\n\r\t]", lambda m: ESCAPES[m.group()], text)


def _unescape(text: str) -> str:
    return re.sub(r"\\[\\nrt]", lambda m: UNESCAPES[m.group()], text)


def baseline_text(findings: pd.DataFrame) -> str:
    """The baseline accepting every finding given (in findings order, one per line)."""
    if findings.empty:
        return HEADER
    claims = text_column(findings["claim_id"])
    for raw, escaped in ESCAPES.items():  # backslash first: later escapes add backslashes
        claims = pc.replace_substring(claims, raw, escaped)
    line = pc.cast(pa.array(findings["line_number"].to_numpy(dtype=np.int64)), pa.string())
    lines = pc.binary_join_element_wise(
        *(text_column(findings[c]) for c in ("fingerprint", "rule_id", "service_date")),
        text_column(findings["procedure_code"]),
        pc.binary_join_element_wise(claims, line, ":"),
        "  ",
    )
    return HEADER + "\n".join(pc.unique(lines).to_pylist()) + "\n"


def write_baseline(path: str | Path, findings: pd.DataFrame) -> None:
    with atomic_text(path, newline="\n") as out:
        out.write(baseline_text(findings))


def read_baseline(path: str | Path) -> Baseline:
    """Parse a baseline file; a malformed line is an error naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read baseline: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: baseline is not UTF-8 text") from error
    lines = pd.Series(text.splitlines(), dtype=object)
    lines.index = lines.index + 1  # line numbers as an editor shows them
    stripped = lines.str.strip()
    lines = stripped[(stripped != "") & ~stripped.str.startswith("#")]
    parts = lines.str.extract(ENTRY)
    bad = parts[0].isna()
    if bad.any():
        number = int(lines.index[bad.to_numpy()][0])
        raise ConfigError(
            f"{path}:{number}: not a baseline entry (expected 'fingerprint rule date code"
            f" claim:line'): {lines[number][:80]!r}"
        )
    entries = pd.DataFrame(
        {
            "fingerprint": parts[0].astype(object),
            "rule_id": parts[1].astype(object),
            "claim_id": parts[4].map(_unescape).astype(object),
            "text": lines.astype(object),
        }
    ).reset_index(drop=True)
    return Baseline(str(path), entries)


def apply_baseline(
    findings: pd.DataFrame,
    baseline: Baseline,
    rules_applied: set[str],
    claims_checked: np.ndarray | None,
) -> BaselineOutcome:
    """Split findings into new ones (not in the baseline) and count matches and stale entries.

    An entry is stale when its finding did not occur although its rule ran and its claim was
    checked; entries outside the run (another rule selection, claims not in these files) are
    counted as not checked. Without the run's claims (a streamed run) every claim counts as
    checked.
    """
    entries = baseline.entries
    accepted = findings["fingerprint"].isin(entries["fingerprint"]).to_numpy()
    gone = entries[~entries["fingerprint"].isin(findings["fingerprint"])]
    checked = gone["rule_id"].isin(rules_applied)
    if claims_checked is not None:
        checked &= gone["claim_id"].isin(pd.Series(claims_checked, dtype=object))
    return BaselineOutcome(
        new=findings[~accepted].reset_index(drop=True),
        path=baseline.path,
        entries=len(entries),
        matched=int(entries["fingerprint"].isin(findings["fingerprint"]).sum()),
        stale=gone["text"][checked].tolist(),
        not_checked=int((~checked).sum()),
    )
