"""`--statistics`: how many findings each rule produced, and nothing else."""

from __future__ import annotations

import json
from typing import IO

import pandas as pd
import pyarrow as pa

from igrt_edits.report.tabular import write_csv

STATISTICS_FORMATS = ("table", "json", "csv")


def rule_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """rule_id, rule_name, severity, count; most frequent first, then by rule id."""
    counts = (
        findings.groupby(["rule_id", "rule_name", "severity"], sort=True)
        .size()
        .rename("count")
        .reset_index()
    )
    order = counts.sort_values(["count", "rule_id"], ascending=[False, True], kind="stable")
    return order.reset_index(drop=True)


def write_statistics_text(out: IO[str], findings: pd.DataFrame) -> None:
    """One line per rule: count, id, severity, name (aligned, like a linter's statistics)."""
    counts = rule_counts(findings)
    if counts.empty:
        return
    width = len(f"{counts['count'].max():,}")
    for row in counts.to_dict(orient="records"):  # one row per rule
        count, rule, severity, name = (
            row[k] for k in ("count", "rule_id", "severity", "rule_name")
        )
        out.write(f"{count:>{width},}  {rule}  {severity:<7}  {name}\n")


def write_statistics_json(out: IO[str], findings: pd.DataFrame) -> None:
    records = rule_counts(findings).to_dict(orient="records")
    json.dump([{**r, "count": int(r["count"])} for r in records], out, indent=2)
    out.write("\n")


def write_statistics_csv(sink, findings: pd.DataFrame) -> None:
    counts = rule_counts(findings)
    write_csv(sink, pa.Table.from_pandas(counts, preserve_index=False))
