"""What a finished run hands to reporters: findings, rejects and every row accounted for.

Every engine (in memory, streamed, on Spark) builds its `RunResult` through `RunResult.of`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.catalog.rule import Rule
from igrt_edits.contract import REJECTS_ORDER, ROW_ACCOUNTING
from igrt_edits.errors import RejectRateError


@dataclass
class SourcePositions:
    """Line and column of the file of each row of an X12 file, by segment number."""

    segments: list[np.ndarray] = field(default_factory=list)
    lines: list[np.ndarray] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)

    def add(self, segments: np.ndarray, lines: np.ndarray, columns: np.ndarray) -> None:
        self.segments.append(np.asarray(segments, np.int64))
        self.lines.append(np.asarray(lines, np.int32))
        self.columns.append(np.asarray(columns, np.int32))

    def locate(self, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(line, column) of each given segment number (0, 0 for one not recorded)."""
        if not self.segments:
            zeros = np.zeros(len(segments), np.int64)
            return zeros, zeros
        known = np.concatenate(self.segments)
        order = np.argsort(known, kind="stable")
        known = known[order]
        at = np.minimum(np.searchsorted(known, segments), len(known) - 1)
        found = known[at] == segments
        lines = np.concatenate(self.lines)[order][at]
        columns = np.concatenate(self.columns)[order][at]
        return np.where(found, lines, 0), np.where(found, columns, 0)


@dataclass
class FileSummary:
    """One input file: what it is and where each of its rows went."""

    path: str
    format: str
    size_bytes: int
    rows_read: int = 0
    rows_checked: int = 0
    rows_rejected: int = 0
    rows_out_of_scope: int = 0
    has_diagnosis: bool = False
    positions: SourcePositions | None = None
    """X12: where each row's segment is in the file (its row is its segment number)."""

    def accounting(self) -> dict[str, int]:
        """Where the file's rows went (ROW_ACCOUNTING)."""
        return {key: getattr(self, key) for key in ROW_ACCOUNTING}


@dataclass(frozen=True)
class LineCounts:
    """What checking lines counted: a whole run's, or one part's (see `plus`)."""

    settings: Mapping[str, int]
    """Checked lines by setting ("unknown" where none could be told)."""
    schemes: Mapping[str, int]
    """Checked lines by coding scheme."""
    patients: int
    claims: int
    charges_flagged: float
    """Sum of charge_amount over the distinct flagged lines."""

    def plus(self, other: LineCounts) -> LineCounts:
        """The counts of two parts that share no patient (partitions, buckets)."""
        settings, schemes = Counter(self.settings), Counter(self.schemes)
        settings.update(other.settings)
        schemes.update(other.schemes)
        return LineCounts(
            settings,
            schemes,
            self.patients + other.patients,
            self.claims + other.claims,
            self.charges_flagged + other.charges_flagged,
        )


@dataclass
class RunResult:
    """Everything a reporter needs about a finished run."""

    findings: pd.DataFrame
    rejects: pa.Table
    files: list[FileSummary]
    skipped_files: list[str]
    lines: pa.Table | None
    """Every line that passed row checks, with derived context and `_status` (checked,
    out_of_scope, or rejected for a claim conflict); `_file`/`_row` locate it in the input."""
    setting_unknown: int
    settings_seen: dict[str, int]
    schemes_seen: dict[str, int]
    rules_skipped: dict[str, str]
    patients_checked: int
    claims_checked: int
    charges_flagged: float = 0.0
    """Sum of charge_amount over the distinct flagged lines."""
    wall_seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        return {k: sum(f.accounting()[k] for f in self.files) for k in ROW_ACCOUNTING}

    def text_positions(self, files: pd.Series, rows: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Line and column (0: not known) in the file of each (source_file, source_row): a
        CSV or Parquet row is its own line; an X12 row (a segment number) is looked up."""
        rows = np.asarray(rows, dtype=np.int64)
        lines, columns = rows.copy(), np.zeros(len(rows), np.int64)
        names = np.asarray(files, dtype=object)
        for summary in self.files:
            if summary.positions is not None:
                mine = names == summary.path
                if mine.any():
                    lines[mine], columns[mine] = summary.positions.locate(rows[mine])
        return lines, columns

    @staticmethod
    def of(
        findings: pd.DataFrame,
        rejects: pa.Table,
        files: list[FileSummary],
        counts: LineCounts,
        rules: Sequence[Rule],
        *,
        lines: pa.Table | None = None,
        skipped_files: Sequence[str] = (),
        wall_seconds: float = 0.0,
    ) -> RunResult:
        """The result of a run over `files` that applied `rules`."""
        settings = dict(sorted(counts.settings.items()))
        return RunResult(
            findings=findings,
            rejects=rejects,
            files=files,
            skipped_files=list(skipped_files),
            lines=lines,
            setting_unknown=settings.get("unknown", 0),
            settings_seen=settings,
            schemes_seen=dict(sorted(counts.schemes.items())),
            rules_skipped=skipped_rules(rules, files),
            patients_checked=counts.patients,
            claims_checked=counts.claims,
            charges_flagged=round(counts.charges_flagged, 2),
            wall_seconds=wall_seconds,
        )


def skipped_rules(rules: Sequence[Rule], files: Sequence[FileSummary]) -> dict[str, str]:
    """Rules a run could not apply, and why: those that read diagnoses, when no file has any."""
    if not files or any(f.has_diagnosis for f in files):
        return {}
    return {
        rule.id: "no diagnosis column in any input file"
        for rule in rules
        if rule.kind.needs_diagnoses
    }


def account(summaries, rejects: pa.Table, checked: np.ndarray, out_of_scope: np.ndarray) -> None:
    """Fill in each file's row accounting from per-file counts and the rejects."""
    rejected = pd.Series(rejects.column("source_file").to_pylist(), dtype=object).value_counts()
    for i, summary in enumerate(summaries):
        summary.rows_out_of_scope = int(out_of_scope[i])
        summary.rows_checked = int(checked[i])
        summary.rows_rejected = int(rejected.get(summary.path, 0))


def check_reject_rate(summaries: list[FileSummary], limit: float | None) -> None:
    read = sum(s.rows_read for s in summaries)
    rejected = sum(s.rows_rejected for s in summaries)
    if limit is not None and read and rejected / read > limit:
        raise RejectRateError(
            f"{rejected} of {read} rows rejected ({rejected / read:.1%}), above the limit of"
            f" {limit:.1%} (--max-reject-rate); see the rejects output for reasons"
        )


def sort_rejects(rejects: pa.Table) -> pa.Table:
    return rejects.sort_by([(c, "ascending") for c in REJECTS_ORDER])
