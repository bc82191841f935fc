"""The analyst's terminal view: findings grouped by claim and line, then a run summary.

Laid out to read at 80 columns: a header per claim, a header per flagged line, and under it
each finding's severity, rule and message, wrapped and indented, with the related lines.
Colour only on a terminal, and never with NO_COLOR.
"""

from __future__ import annotations

from typing import IO, Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
RELATED_SHOWN = 8
STALE_SHOWN = 10


def make_console(out: IO[str], *, color: bool | None = None, width: int | None = None) -> Console:
    """A console that colours only a terminal (and honours NO_COLOR)."""
    return Console(
        file=out,
        force_terminal=color,
        no_color=None if color is None else not color,
        width=width,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )


def _print_indented(console: Console, text: Text, indent: int) -> None:
    """Print `text` wrapped to the console width with every line indented (no trailing pad)."""
    for line in text.wrap(console, max(console.width - indent, 20)):
        line.rstrip()
        console.print(Text(" " * indent) + line)


def render_table(console: Console, findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    """Findings (sorted by claim, line, rule) grouped by claim, then the summary."""
    if findings.empty:
        console.print(Text("No findings.", style="bold green"))
        console.print()
    for claim_id, claim in findings.groupby("claim_id", sort=False):
        _render_claim(console, str(claim_id), claim)
    render_summary(console, findings, summary)


def _render_claim(console: Console, claim_id: str, claim: pd.DataFrame) -> None:
    files = claim["source_file"].unique()
    header = Text.assemble(
        ("Claim ", "bold"), (claim_id, "bold"), f"  patient {claim['patient_id'].iloc[0]}"
    )
    if len(files) == 1:
        header.append(f"  {files[0]}", style="dim")
    console.print(header)
    for _, line in claim.groupby(["line_number", "source_file", "source_row"], sort=False):
        first = line.iloc[0]
        code = first["procedure_code"] + "".join(
            f"-{m}" for m in str(first["modifiers"]).split(",") if m
        )
        where = f"row {first['source_row']}"
        if len(files) > 1:
            where = f"{first['source_file']} {where}"
        title = Text.assemble(
            (f"line {first['line_number']}", "bold"),
            f"  {first['service_date']}  {code}  ",
            (f"({where})", "dim"),
        )
        _print_indented(console, title, 2)
        for row in line.itertuples(index=False):
            _render_finding(console, row)
    console.print()


def _render_finding(console: Console, finding: Any) -> None:
    style = SEVERITY_STYLE.get(finding.severity, "")
    title = Text.assemble(
        (f"{finding.severity:<7}", style),
        " ",
        (finding.rule_id, style),
        " ",
        (finding.rule_name, "dim"),
    )
    _print_indented(console, title, 4)
    _print_indented(console, Text(finding.message), 6)
    related = list(finding.related_lines)
    if related:
        shown = ", ".join(related[:RELATED_SHOWN])
        more = len(related) - RELATED_SHOWN
        if more > 0:
            shown += f" and {more} more"
        _print_indented(console, Text(f"related: {shown}", style="dim"), 6)


def render_summary(console: Console, findings: pd.DataFrame, summary: dict[str, Any]) -> None:
    """Counts by rule and severity, row accounting, charges, what was skipped, baseline."""
    if len(findings):
        console.print(Text("Findings by rule", style="bold"))
        console.print(_by_rule(findings))
        console.print()
    sev = summary["findings_by_severity"]
    console.print(
        Text.assemble(
            (f"{summary['findings']} findings", "bold"),
            ": ",
            (f"{sev['error']} errors", SEVERITY_STYLE["error"] if sev["error"] else ""),
            ", ",
            (f"{sev['warning']} warnings", SEVERITY_STYLE["warning"] if sev["warning"] else ""),
            f", {sev['info']} info, on {summary['lines_flagged']} lines",
        )
    )
    console.print(
        Text(
            f"Rows: {summary['rows_read']:,} read, {summary['rows_checked']:,} checked,"
            f" {summary['rows_rejected']:,} rejected, {summary['rows_out_of_scope']:,} out of"
            " scope (under the adult age)"
        )
    )
    console.print(
        Text(
            f"Checked {summary['claims_checked']:,} claims of"
            f" {summary['patients_checked']:,} patients"
        )
    )
    console.print(Text(f"Charges on flagged lines: {summary['charges_flagged']:,.2f}"))
    if summary["lines_setting_unknown"]:
        console.print(
            Text(
                f"{summary['lines_setting_unknown']:,} checked lines have no known setting"
                " (IGRT002 and IGRT003 not applied to them)"
            )
        )
    for rule_id, why in summary["rules_skipped"].items():
        console.print(Text(f"{rule_id} not applied: {why}"))
    if "baseline" in summary:
        _render_baseline(console, summary["baseline"])


def _by_rule(findings: pd.DataFrame) -> Table:
    counts = findings.groupby(["rule_id", "rule_name", "severity"], sort=True).size()
    table = Table(box=None, padding=(0, 1), show_header=False, pad_edge=False)
    table.add_column("rule", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("severity", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for (rule_id, name, severity), count in counts.items():
        style = SEVERITY_STYLE.get(severity, "")
        table.add_row(
            Text(f"  {rule_id}"), Text(name), Text(severity, style=style), Text(f"{count:,}")
        )
    return table


def _render_baseline(console: Console, baseline: dict[str, Any]) -> None:
    console.print(
        Text(
            f"Baseline {baseline['path']}: {baseline['matched']:,} of {baseline['entries']:,}"
            f" accepted findings still occur (not shown); {baseline['new_findings']:,} new"
        )
    )
    stale = baseline["stale_entries"]
    if stale:
        console.print(
            Text(
                f"{len(stale):,} baseline entries no longer occur (stale; rewrite the baseline"
                " with --write-baseline to drop them):",
                style="yellow",
            )
        )
        for entry in stale[:STALE_SHOWN]:
            _print_indented(console, Text(entry), 2)
        if len(stale) > STALE_SHOWN:
            _print_indented(console, Text(f"and {len(stale) - STALE_SHOWN:,} more"), 2)
