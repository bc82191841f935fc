"""`check --format html`: one self-contained HTML file that opens offline.

Headline figures; findings by rule, by service month and by provider as charts (inline SVG,
see charts.py); the patient-days with the most findings; a findings table that sorts, filters
and pages in the browser (a small script of our own, inlined); and each fired rule's
explanation. The page loads nothing: its Content-Security-Policy forbids every request.

A large run's file stays small enough to open and send: the table embeds at most
`TABLE_LIMIT` findings (the most severe, then the largest charges) and says how many more
there are; the figures and charts always count every finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from igrt_edits.report import charts, digest
from igrt_edits.report.atomic import atomic_text
from igrt_edits.report.digest import ReportData
from igrt_edits.report.explain import paragraph

TABLE_LIMIT = 10_000
"""Findings the table embeds at most (about 3.5 MB of page)."""
TOP_PROVIDERS = 12
WORST_DAYS = 10
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:;"
    " base-uri 'none'; form-action 'none'"
)
"""No request of any kind: the report's own inline style and script only."""


@dataclass(frozen=True)
class TableColumn:
    """A column of the findings table: its key in the embedded rows, header, kind, and
    whether the search box looks in it."""

    key: str
    header: str
    kind: str = "text"
    search: bool = True


def write_html(target: str | Path, data: ReportData, limit: int = TABLE_LIMIT) -> None:
    """Write the report to `target` atomically."""
    page = build_html(data, limit)
    with atomic_text(target, newline="\n") as out:
        out.write(page)


def build_html(data: ReportData, limit: int = TABLE_LIMIT) -> str:
    """The whole page as text."""
    summary = data.summary
    title = f"IGRT billing edits: {summary['findings']:,} findings"
    shown = digest.top_findings(data.findings, limit)
    sections = [
        _header(summary),
        _headline(summary),
        _charts(data),
        _worst_days(data.findings),
        _findings_section(data, shown),
        _rules(data),
        _inputs(summary, data),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{escape(title)}</title>",
            f"<style>\n{_asset('report.css')}</style>",
            "</head>",
            "<body>",
            "<main>",
            *sections,
            _footer(summary),
            "</main>",
            f'<script type="application/json" id="findings-data">{_table_json(shown)}</script>',
            f"<script>\n{_asset('report.js')}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _asset(name: str) -> str:
    return resources.files("igrt_edits.report").joinpath("assets", name).read_text("utf-8")


def _header(summary: dict[str, Any]) -> str:
    redacted = " · patient ids redacted" if summary.get("redacted") else ""
    inputs = ", ".join(f["path"] for f in summary["files"]) or "no input files"
    return (
        "<header><h1>IGRT billing edit report</h1>"
        f'<p class="meta">igrt-edits {escape(summary["version"])} · edit catalog'
        f" {escape(summary['edit_data_version'])}{redacted} · {escape(inputs)}</p></header>"
    )


def _headline(summary: dict[str, Any]) -> str:
    severity = summary["findings_by_severity"]
    charges = summary["charges_flagged"]
    cards = [
        ("Findings", f"{summary['findings']:,}", "error" if severity["error"] else ""),
        ("Errors", f"{severity['error']:,}", "error" if severity["error"] else ""),
        ("Warnings", f"{severity['warning']:,}", ""),
        ("Info", f"{severity['info']:,}", ""),
        ("Lines flagged", f"{summary['lines_flagged']:,}", ""),
        ("Charges on flagged lines", "not known" if charges is None else f"{charges:,.2f}", ""),
        ("Rows read", f"{summary['rows_read']:,}", ""),
        ("Rows checked", f"{summary['rows_checked']:,}", ""),
        ("Rows rejected", f"{summary['rows_rejected']:,}", ""),
        ("Rows out of scope", f"{summary['rows_out_of_scope']:,}", ""),
        ("Claims checked", f"{summary['claims_checked']:,}", ""),
        ("Patients checked", f"{summary['patients_checked']:,}", ""),
    ]
    body = "".join(
        f'<div class="card {kind}"><span class="value">{escape(value)}</span>'
        f'<span class="label">{escape(label)}</span></div>'
        for label, value, kind in cards
    )
    notes = [
        f"{summary['lines_setting_unknown']:,} checked lines have no known setting (IGRT002"
        " and IGRT003 were not applied to them)."
    ] * bool(summary["lines_setting_unknown"])
    notes += [f"{rule} not applied: {why}." for rule, why in summary["rules_skipped"].items()]
    baseline = summary.get("baseline")
    if baseline:
        notes.append(
            f"Only findings new against the baseline {baseline['path']} are reported"
            f" ({baseline['matched']:,} matched it; {baseline['stale']:,} of its entries no"
            " longer occur)."
        )
    return (
        f'<section id="headline"><h2>Headline figures</h2><div class="cards">{body}</div>'
        + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
        + "</section>"
    )


def _bars(table: pd.DataFrame, labels: Iterable[str]) -> list[charts.Bar]:
    records = table[list(digest.SEVERITIES)].to_dict(orient="records")
    notes = (
        [f"charges {c:,.2f}" for c in table["charges"]]
        if "charges" in table.columns
        else [""] * len(table)
    )
    return [
        charts.Bar(label, {k: int(v) for k, v in counts.items()}, note)
        for label, counts, note in zip(labels, records, notes, strict=True)
    ]


def _charts(data: ReportData) -> str:
    findings = data.findings
    if findings.empty:
        return '<section id="charts"><h2>Charts</h2><p>No findings to chart.</p></section>'
    names = {r.id: r.name for r in data.ruleset.rules}
    rules = digest.by_severity(findings, findings["rule_id"]).sort_values(
        ["findings"], ascending=False, kind="stable"
    )
    by_rule = _bars(rules, [f"{r} {names.get(r, '')}".strip() for r in rules.index])
    months = digest.by_month(findings)
    figures = [
        _figure("chart-rules", "Findings by rule", charts.horizontal_bars(by_rule, "by rule")),
        _figure(
            "chart-months",
            "Findings by month of service",
            charts.columns(_bars(months, months.index), "by month of service"),
        ),
    ]
    if digest.has_providers(findings):
        providers = digest.by_provider(findings, TOP_PROVIDERS)
        svg = charts.horizontal_bars(_bars(providers, providers.index), "by provider")
        figures.append(_figure("chart-providers", "Findings by provider", svg))
    else:
        why = (
            "the extract has no provider_id column"
            if "provider_id" in findings.columns
            else "this run did not keep the flagged lines' provider ids"
        )
        figures.append(
            f'<figure id="chart-providers"><figcaption>Findings by provider</figcaption>'
            f'<p class="note">Not shown: {escape(why)}.</p></figure>'
        )
    legend = f'<p class="legend">{charts.legend()}</p>'
    return (
        f'<section id="charts"><h2>Charts</h2><div class="charts">{"".join(figures)}</div>'
        f"{legend}</section>"
    )


def _figure(anchor: str, caption: str, svg: str) -> str:
    return f'<figure id="{anchor}"><figcaption>{escape(caption)}</figcaption>{svg}</figure>'


def _worst_days(findings: pd.DataFrame) -> str:
    days = digest.worst_days(findings, WORST_DAYS)
    if days.empty:
        return ""
    charges = digest.has_charges(findings)
    head = [
        "<th>Patient</th><th>Date of service</th>",
        '<th class="number">Findings</th><th class="number">Errors</th><th>Rules</th>',
        '<th class="number">Charges</th>' if charges else "",
    ]
    rows = []
    for day in days.to_dict(orient="records"):  # at most WORST_DAYS rows
        cells = [
            _td(day["patient_id"]),
            _td(day["service_date"]),
            _td(f"{day['findings']:,}", number=True),
            _td(f"{day['errors']:,}", number=True),
            _td(day["rules"]),
        ]
        if charges:
            cells.append(_td(f"{day['charges']:,.2f}", number=True))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<section id="worst-days"><h2>Patient-days with the most findings</h2>'
        f"<table><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _td(text: str, number: bool = False) -> str:
    return f'<td class="number">{escape(text)}</td>' if number else f"<td>{escape(text)}</td>"


def table_columns(findings: pd.DataFrame) -> list[TableColumn]:
    columns = [
        TableColumn("severity", "Severity"),
        TableColumn("rule_id", "Rule"),
        TableColumn("claim_id", "Claim"),
        TableColumn("line_number", "Line", "int", search=False),
        TableColumn("patient_id", "Patient"),
        TableColumn("service_date", "Date of service"),
        TableColumn("procedure_code", "Code"),
        TableColumn("modifiers", "Modifiers"),
    ]
    if "provider_id" in findings.columns:
        columns.append(TableColumn("provider_id", "Provider"))
    if digest.has_charges(findings):
        columns.append(TableColumn("charge_amount", "Charge", "money", search=False))
    columns += [
        TableColumn("message", "Message"),
        TableColumn("related_lines", "Related lines"),
        TableColumn("source", "Source (file:row)"),
    ]
    return columns


def _table_json(shown: pd.DataFrame) -> str:
    """The table's findings as {"columns": [...], "rows": [[...], ...]}, safe in a script."""
    columns = table_columns(shown)
    values = [_column_values(shown, c) for c in columns]
    payload = {
        "columns": [{"key": c.key, "kind": c.kind, "search": c.search} for c in columns],
        "rows": [list(row) for row in zip(*values, strict=True)] if len(shown) else [],
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c")  # no "</script>" or "<!--" can end the block early


def _column_values(findings: pd.DataFrame, column: TableColumn) -> list[Any]:
    if column.key == "source":
        rows = findings["source_row"].astype(str)
        return (findings["source_file"].astype(str) + ":" + rows).tolist()
    if column.key == "related_lines":
        return ["; ".join(v) for v in findings["related_lines"].tolist()]
    series = findings[column.key]
    if column.kind == "money":
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return [None if np.isnan(v) else round(float(v), 2) for v in values]
    if column.kind == "int":
        return [int(v) for v in series.tolist()]
    return series.astype(object).where(series.notna(), None).tolist()


def _findings_section(data: ReportData, shown: pd.DataFrame) -> str:
    total = len(data.findings)
    columns = table_columns(shown)
    counts = shown["rule_id"].value_counts()
    names = {r.id: r.name for r in data.ruleset.rules}
    rule_options = "".join(
        f'<option value="{escape(rule)}">{escape(rule)} {escape(names.get(rule, ""))}'
        f" ({int(counts[rule]):,})</option>"
        for rule in sorted(counts.index)
    )
    severity_options = "".join(
        f'<option value="{s}">{s}</option>'
        for s in digest.SEVERITIES
        if (shown["severity"] == s).any()
    )
    note = ""
    if len(shown) < total:
        note = (
            f'<p class="warning-note">This report holds the top {len(shown):,} of {total:,}'
            f" findings (errors first, then the largest charges); {total - len(shown):,} more"
            " are not in this file. The charts and figures above count them all; write every"
            " finding with --format xlsx, csv or parquet.</p>"
        )
    head = "".join(
        f'<th data-key="{c.key}" tabindex="0" aria-sort="none">{escape(c.header)}</th>'
        for c in columns
    )
    return (
        '<section id="findings"><h2>Findings</h2>'
        f"{note}"
        '<div class="controls">'
        '<label>Rule <select id="rule-filter"><option value="">all rules</option>'
        f"{rule_options}</select></label>"
        '<label>Severity <select id="severity-filter"><option value="">all</option>'
        f"{severity_options}</select></label>"
        '<label>Search <input id="search" type="search" placeholder="claim, patient, code,'
        ' message"></label></div>'
        f'<div class="table-wrap"><table id="findings-table"><thead><tr>{head}</tr></thead>'
        "<tbody></tbody></table></div>"
        '<div class="pager"><button id="page-previous" type="button">Previous</button>'
        '<span id="page-info"></span><button id="page-next" type="button">Next</button></div>'
        "<noscript><p>The findings table needs JavaScript; the charts and rules do not.</p>"
        "</noscript></section>"
    )


def _rules(data: ReportData) -> str:
    fired = [r for r in digest.rule_rows(data.findings, data.catalog, data.ruleset) if r.findings]
    fired_ids = {f.rule_id for f in fired}
    quiet = [r.id for r in data.ruleset.rules if r.id not in fired_ids]
    rules = {r.id: r for r in data.ruleset.rules}
    articles = [_rule_article(row, rules[row.rule_id]) for row in fired]
    applied_note = (
        f'<p class="note">Applied without findings: {escape(", ".join(quiet))}.</p>'
        if quiet
        else ""
    )
    return (
        '<section id="rules"><h2>The rules that fired</h2>'
        + ("".join(articles) or "<p>No rule fired.</p>")
        + applied_note
        + "</section>"
    )


def _rule_article(row: digest.RuleRow, rule: Any) -> str:
    charges = "" if row.charges is None else f" · charges on flagged lines {row.charges:,.2f}"
    carc = f"CARC {row.carc}" + (f": {row.carc_reason}" if row.carc_reason else "")
    items: Sequence[tuple[str, str]] = (
        ("What it checks", paragraph(rule.explanation.what)),
        ("Why it is wrong", paragraph(rule.explanation.why)),
        ("How to fix the claim", paragraph(rule.explanation.fix)),
        ("Suggested adjustment", carc),
        ("Policy reference", " ".join(row.policy_ref.split())),
    )
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    return (
        f'<article class="rule" id="rule-{escape(row.rule_id)}">'
        f"<h3>{escape(row.rule_id)} {escape(row.name)} "
        f'<span class="badge {escape(row.severity)}">{escape(row.severity)}</span></h3>'
        f"<p>{escape(row.summary)} · {row.findings:,} findings{charges}</p>"
        f"<dl>{details}</dl></article>"
    )


def _inputs(summary: dict[str, Any], data: ReportData) -> str:
    head = ["Path", "Format", "Rows read", "Checked", "Rejected", "Out of scope", "SHA-256"]
    rows = "".join(
        "<tr>"
        f"<td>{escape(f['path'])}</td><td>{escape(f['format'])}</td>"
        + "".join(
            f'<td class="number">{f[k]:,}</td>'
            for k in ("rows_read", "rows_checked", "rows_rejected", "rows_out_of_scope")
        )
        + f'<td class="mono">{escape(f.get("sha256") or "not computed")}</td></tr>'
        for f in summary["files"]
    )
    skipped = "".join(
        f'<p class="note">Skipped (not CSV or Parquet): {escape(p)}</p>'
        for p in summary["skipped_files"]
    )
    return (
        '<section id="inputs"><h2>Inputs and row accounting</h2>'
        f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
        f"<tbody>{rows}</tbody></table>{skipped}{_rejects(data)}</section>"
    )


def _rejects(data: ReportData) -> str:
    """Rejected rows counted by the column at fault (reasons may quote values: not shown)."""
    rejects = data.rejects
    if not rejects.num_rows:
        return "<p>No row was rejected.</p>"
    counts = pc.value_counts(rejects.column("column").combine_chunks()).to_pylist()
    counts.sort(key=lambda c: (-c["counts"], str(c["values"])))
    items = ", ".join(f"{c['values'] or 'row'} {c['counts']:,}" for c in counts)
    return (
        f"<p>{rejects.num_rows:,} rows rejected, by column: {escape(items)}. The rejects output"
        " (--rejects FILE, or the workbook's Rejects sheet) lists each with its reason.</p>"
    )


def _footer(summary: dict[str, Any]) -> str:
    return (
        f'<footer><p class="note">Made by igrt-edits {escape(summary["version"])} with edit'
        f" catalog {escape(summary['edit_data_version'])}. This file opens offline: it loads"
        " nothing, its charts are drawn in it and its table works without a network.</p>"
        "</footer>"
    )
