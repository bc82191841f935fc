"""The figures of the analyst reports (workbook and HTML), from a run's reported findings.

Findings by rule (with severity, CARC and the charges on the lines each rule flagged), by
service month, by provider, and the patient-days with the most findings. Each is a group-by
over the findings the run reported: nothing here decides what a finding is.

Charges are summed over distinct flagged lines (a line flagged by two rules counts once in a
month's or a provider's total), as the run summary's `charges_flagged` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from igrt_edits.catalog.rule import Catalog
from igrt_edits.contract import SEVERITIES, SEVERITY_RANK
from igrt_edits.rules.engine import RuleSet

LINE = ["source_file", "source_row"]
NO_PROVIDER = "(no provider id)"


@dataclass(frozen=True)
class ReportData:
    """What an analyst report shows: a run as reported (after baseline and redaction)."""

    findings: pd.DataFrame
    """Contract columns in order, then provider_id and charge_amount when the run kept them."""
    summary: dict[str, Any]
    rejects: pa.Table
    catalog: Catalog
    ruleset: RuleSet


def has_charges(findings: pd.DataFrame) -> bool:
    """The findings carry their lines' charges (runs that keep line details do)."""
    return "charge_amount" in findings.columns


def has_providers(findings: pd.DataFrame) -> bool:
    """The findings carry provider ids, and at least one line has one."""
    return "provider_id" in findings.columns and bool(findings["provider_id"].notna().any())


@dataclass(frozen=True)
class RuleRow:
    """One applied rule, as the reports list it."""

    rule_id: str
    name: str
    severity: str
    carc: str
    carc_reason: str
    policy_ref: str
    summary: str
    findings: int
    charges: float | None


def rule_rows(findings: pd.DataFrame, catalog: Catalog, ruleset: RuleSet) -> list[RuleRow]:
    """Every rule the run applied, in id order, with its findings and flagged charges."""
    counts = findings["rule_id"].value_counts()
    charges = (
        _charge_sums(findings, findings["rule_id"].astype(str)) if has_charges(findings) else None
    )
    return [
        RuleRow(
            rule_id=rule.id,
            name=rule.name,
            severity=rule.severity,
            carc=rule.carc,
            carc_reason=catalog.carc.get(rule.carc, ""),
            policy_ref=rule.policy_ref,
            summary=rule.summary,
            findings=int(counts.get(rule.id, 0)),
            charges=None if charges is None else float(charges.get(rule.id, 0.0)),
        )
        for rule in ruleset.rules
    ]


def by_severity(findings: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Findings per value of `key` and severity (columns error, warning, info, findings),
    with `charges` over the distinct flagged lines when the findings carry them."""
    severity = findings["severity"].astype(str).to_numpy()
    key = key.astype(str).to_numpy()
    counts = pd.crosstab(key, severity).reindex(columns=list(SEVERITIES), fill_value=0)
    counts.index.name = "key"
    counts["findings"] = counts.sum(axis=1)
    if has_charges(findings):
        counts["charges"] = _charge_sums(findings, pd.Series(key, index=findings.index))
    return counts.astype({s: np.int64 for s in (*SEVERITIES, "findings")})


def by_month(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per service month (`YYYY-MM`), in month order."""
    months = findings["service_date"].astype(str).str.slice(0, 7)
    return by_severity(findings, months).sort_index()


def by_provider(findings: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    """Findings per provider id, most first; beyond `top` providers the rest as one row."""
    providers = (
        findings["provider_id"].astype(object).where(findings["provider_id"].notna(), NO_PROVIDER)
    )
    table = by_severity(findings, providers)
    table = table.sort_values(["findings"], ascending=False, kind="stable")
    if len(table) <= top:
        return table
    shown, rest = table.iloc[: top - 1], table.iloc[top - 1 :]
    other = rest.sum(numeric_only=True).to_frame(f"{len(rest)} other providers").T
    return pd.concat([shown, other.astype(shown.dtypes.to_dict())])


def worst_days(findings: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The patient-days with the most findings (then most errors, then most charges, then
    the first in the findings' order).

    Columns: patient_id, service_date, findings, errors, rules (the rule ids that fired),
    charges (when known). Days are counted by integer id; only the chosen days' rows are
    turned into text.
    """
    columns = ["patient_id", "service_date", "findings", "errors", "rules", "charges"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    grouped = findings.groupby(["patient_id", "service_date"], sort=False, observed=True)
    day = grouped.ngroup().to_numpy()
    count = np.bincount(day)
    errors = np.bincount(day, weights=(findings["severity"] == "error").to_numpy(dtype=bool))
    charges = None
    keys = [-errors, -count]
    if has_charges(findings):
        charges = _charge_sums(findings, pd.Series(day, index=findings.index))
        charges = charges.reindex(range(len(count)), fill_value=0.0).to_numpy()
        keys.insert(0, -charges)
    chosen = np.lexsort([np.arange(len(count)), *keys])[:top]  # group ids follow first rows
    rows = [np.flatnonzero(day == d) for d in chosen]  # a handful of days
    out = pd.DataFrame(
        {
            "patient_id": [str(findings["patient_id"].iat[r[0]]) for r in rows],
            "service_date": [str(findings["service_date"].iat[r[0]]) for r in rows],
            "findings": count[chosen].astype(np.int64),
            "errors": errors[chosen].astype(np.int64),
            "rules": [
                ", ".join(sorted(set(findings["rule_id"].iloc[r].astype(str)))) for r in rows
            ],
        }
    )
    if charges is not None:
        out["charges"] = charges[chosen]
    return out


def top_findings(findings: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most `limit` findings: the most severe first, then the largest charges, then in
    the findings' own order; returned in the findings' own order."""
    if len(findings) <= limit:
        return findings
    rank = -findings["severity"].astype(str).map(SEVERITY_RANK).to_numpy(dtype=np.int64)
    keys = [np.arange(len(findings))]
    if has_charges(findings):
        keys.append(-findings["charge_amount"].to_numpy(dtype=float, na_value=0.0))
    keys.append(rank)
    chosen = np.sort(np.lexsort(keys)[:limit])
    return findings.iloc[chosen]


def _charge_sums(findings: pd.DataFrame, key: pd.Series) -> pd.Series:
    """Sum of charge_amount over the distinct lines of each key value (missing as 0)."""
    lines = pd.DataFrame(
        {
            "key": key.to_numpy(),
            "file": pd.factorize(findings["source_file"])[0],
            "row": findings["source_row"].to_numpy(dtype=np.int64),
            "charge": findings["charge_amount"].to_numpy(dtype=float, na_value=np.nan),
        }
    ).drop_duplicates(["key", "file", "row"])
    return lines.groupby("key")["charge"].sum().round(2)
