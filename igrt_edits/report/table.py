"""The analyst's terminal view: findings grouped by claim, then a run summary."""

from __future__ import annotations

from typing import IO, Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def make_console(out: IO[str], *, color: bool | None = None, width: int | None = None) -> Console:
    """A console that colours only a terminal (and honours NO_COLOR)."""
    return Console(
        file=out,
        force_terminal=color,
        no_color=None if color is None else not color,
        width=width,
        highlight=False,
        soft_wrap=False,
    )


def render_table(console: Console, findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    for claim_id, group in findings.groupby("claim_id", sort=False):
        first = group.iloc[0]
        console.print(
            Text.assemble(
                ("Claim ", "bold"),
                (str(claim_id), "bold"),
                f"  patient {first['patient_id']}  {first['source_file']}",
                f"  ({len(group)} finding{'s' if len(group) != 1 else ''})",
            )
        )
        table = Table(box=None, show_header=False, pad_edge=False, expand=False, padding=(0, 1))
        table.add_column("line", justify="right", no_wrap=True)
        table.add_column("date", no_wrap=True)
        table.add_column("code", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=1)
        for row in group.to_dict("records"):
            modifiers = row["modifiers"].replace(",", "-")
            code = row["procedure_code"] + (f"-{modifiers}" if modifiers else "")
            rule = Text(row["rule_id"], style=SEVERITY_STYLE.get(row["severity"], ""))
            message = Text(row["message"])
            table.add_row(str(row["line_number"]), row["service_date"], code, rule, message)
        console.print(table)
        console.print()
    render_summary(console, findings, summary)


def render_summary(console: Console, findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    by_rule = findings.groupby(["rule_id", "rule_name", "severity"]).size() if len(findings) else []
    if len(findings):
        table = Table(title="Findings by rule", title_justify="left", box=None, padding=(0, 1))
        table.add_column("rule")
        table.add_column("name")
        table.add_column("severity")
        table.add_column("count", justify="right")
        for (rule_id, name, severity), count in by_rule.items():
            table.add_row(rule_id, name, Text(severity, style=SEVERITY_STYLE[severity]), str(count))
        console.print(table)
        console.print()
    sev = summary["findings_by_severity"]
    console.print(
        f"{summary['findings']} findings ({sev['error']} errors, {sev['warning']} warnings,"
        f" {sev['info']} info) on {summary['lines_flagged']} lines;"
        f" charges on flagged lines {summary['charges_flagged']:,.2f}"
    )
    console.print(
        f"Rows: {summary['rows_read']} read, {summary['rows_checked']} checked,"
        f" {summary['rows_rejected']} rejected, {summary['rows_out_of_scope']} out of scope"
        f" (under the adult age); {summary['claims_checked']} claims,"
        f" {summary['patients_checked']} patients checked"
    )
    if summary["lines_setting_unknown"]:
        console.print(
            f"{summary['lines_setting_unknown']} checked lines have no known setting"
            " (IGRT002/IGRT003 skipped for them)"
        )
    for rule_id, why in summary["rules_skipped"].items():
        console.print(f"{rule_id} not applied: {why}")
