"""The analyst's terminal view: findings grouped by claim and line, then a run summary.

Laid out to read at 80 columns: a header per claim, a header per flagged line, and under it
each finding's severity, rule and message, wrapped and indented, with the related lines.
The layout is computed once as lines of (text, style) pieces; a terminal gets them coloured
through rich, anything else (a file, a pipe, NO_COLOR) gets the same text plain. Wrapping is
done here rather than by rich so that a run with many findings still prints in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

import pandas as pd
from rich.console import Console
from rich.text import Text

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
RELATED_SHOWN = 8
STALE_SHOWN = 10
MIN_WIDTH = 40

Piece = tuple[str, str]
Line = list[Piece]
TOKEN = re.compile(r"\s+|\S+")


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


def wrap(pieces: list[Piece], width: int, indent: int = 0) -> list[Line]:
    """Styled pieces wrapped at word boundaries into lines of at most `width` characters.

    Every line starts with `indent` spaces; words longer than a line are cut.
    """
    text_len = sum(len(t) for t, _ in pieces)
    if indent + text_len <= width and "\n" not in "".join(t for t, _ in pieces):
        return [[(" " * indent, ""), *pieces]] if indent else [list(pieces)]
    room = max(width - indent, 1)
    lines: list[Line] = []
    line: Line = []
    column = 0
    space = ""
    for text, style in pieces:
        for token in TOKEN.findall(text):
            if token.isspace():
                space = token if line else ""
                continue
            while len(token) > room:  # a word longer than a line: cut it
                if line:
                    lines.append(line)
                    line, column = [], 0
                lines.append([(token[:room], style)])
                token = token[room:]
            if line and column + len(space) + len(token) > room:
                lines.append(line)
                line, column, space = [], 0, ""
            if space:
                line.append((space, ""))
                column += len(space)
                space = ""
            line.append((token, style))
            column += len(token)
    if line or not lines:
        lines.append(line)
    return [[(" " * indent, ""), *ln] if indent else ln for ln in lines]


def finding_lines(
    findings: pd.DataFrame, width: int, places: list[str] | None = None
) -> Iterator[list[Line]]:
    """One block of lines per claim (findings sorted by claim, line, rule)."""
    records = findings.to_dict("list") if len(findings) else {}
    if records:
        records["place"] = places or [f"row {r}" for r in records["source_row"]]
    n = len(findings)
    start = 0
    claims = records.get("claim_id", [])
    while start < n:
        end = start
        while end < n and claims[end] == claims[start]:
            end += 1
        yield _claim_block(records, start, end, width)
        start = end


def _claim_block(records: dict[str, list], start: int, end: int, width: int) -> list[Line]:
    files = set(records["source_file"][start:end])
    header: list[Piece] = [
        (f"Claim {records['claim_id'][start]}", "bold"),
        (f"  patient {records['patient_id'][start]}", ""),
    ]
    if len(files) == 1:
        header.append((f"  {records['source_file'][start]}", "dim"))
    block = wrap(header, width)
    previous = None
    for i in range(start, end):
        where = (records["line_number"][i], records["source_file"][i], records["source_row"][i])
        if where != previous:
            previous = where
            block.extend(_line_header(records, i, width, several_files=len(files) > 1))
        block.extend(_finding(records, i, width))
    block.append([])
    return block


def _line_header(records: dict[str, list], i: int, width: int, several_files: bool) -> list[Line]:
    code = records["procedure_code"][i] + "".join(
        f"-{m}" for m in str(records["modifiers"][i]).split(",") if m
    )
    where = records["place"][i]
    if several_files:
        where = f"{records['source_file'][i]} {where}"
    pieces = [
        (f"line {records['line_number'][i]}", "bold"),
        (f"  {records['service_date'][i]}  {code}  ", ""),
        (f"({where})", "dim"),
    ]
    return wrap(pieces, width, 2)


def _finding(records: dict[str, list], i: int, width: int) -> list[Line]:
    severity = records["severity"][i]
    style = SEVERITY_STYLE.get(severity, "")
    title = [
        (f"{severity:<7}", style),
        (" ", ""),
        (records["rule_id"][i], style),
        (" ", ""),
        (records["rule_name"][i], "dim"),
    ]
    lines = wrap(title, width, 4) + wrap([(records["message"][i], "")], width, 6)
    related = list(records["related_lines"][i])
    if related:
        shown = ", ".join(related[:RELATED_SHOWN])
        if len(related) > RELATED_SHOWN:
            shown += f" and {len(related) - RELATED_SHOWN} more"
        lines += wrap([(f"related: {shown}", "dim")], width, 6)
    return lines


def summary_lines(findings: pd.DataFrame, summary: dict[str, Any], width: int) -> list[Line]:
    """Counts by rule and severity, row accounting, charges, what was skipped, baseline."""
    lines: list[Line] = []
    if findings.empty:
        lines += [[("No findings.", "bold green")], []]
    else:
        lines += [[("Findings by rule", "bold")], *_by_rule(findings, width), []]
    sev = summary["findings_by_severity"]
    lines += wrap(
        [
            (f"{summary['findings']:,} findings", "bold"),
            (": ", ""),
            (f"{sev['error']:,} errors", SEVERITY_STYLE["error"] if sev["error"] else ""),
            (", ", ""),
            (f"{sev['warning']:,} warnings", SEVERITY_STYLE["warning"] if sev["warning"] else ""),
            (f", {sev['info']:,} info, on {summary['lines_flagged']:,} lines", ""),
        ],
        width,
    )
    texts = [
        f"Rows: {summary['rows_read']:,} read, {summary['rows_checked']:,} checked,"
        f" {summary['rows_rejected']:,} rejected, {summary['rows_out_of_scope']:,} out of scope"
        " (under the adult age)",
        f"Checked {summary['claims_checked']:,} claims of {summary['patients_checked']:,} patients",
        f"Charges on flagged lines: {summary['charges_flagged']:,.2f}",
    ]
    if summary["lines_setting_unknown"]:
        texts.append(
            f"{summary['lines_setting_unknown']:,} checked lines have no known setting"
            " (IGRT002 and IGRT003 not applied to them)"
        )
    texts += [f"{rule_id} not applied: {why}" for rule_id, why in summary["rules_skipped"].items()]
    for text in texts:
        lines += wrap([(text, "")], width)
    if "baseline" in summary:
        lines += _baseline(summary["baseline"], width)
    return lines


def _by_rule(findings: pd.DataFrame, width: int) -> list[Line]:
    """One aligned row per rule; on a narrow console the name goes on its own line."""
    counts = findings.groupby(["rule_id", "rule_name", "severity"], sort=True).size()
    rows = [(r, n, s, f"{c:,}") for (r, n, s), c in counts.items()]
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    fits = 2 + sum(widths) + 6 <= width
    lines: list[Line] = []
    for rule_id, name, severity, count in rows:
        named = f"  {name:<{widths[1]}}" if fits else ""
        lines.append(
            [
                (f"  {rule_id:<{widths[0]}}{named}  ", ""),
                (f"{severity:<{widths[2]}}", SEVERITY_STYLE.get(severity, "")),
                (f"  {count:>{widths[3]}}", ""),
            ]
        )
        if not fits:
            lines += wrap([(name, "dim")], width, 4)
    return lines


def _baseline(baseline: dict[str, Any], width: int) -> list[Line]:
    lines = wrap(
        [
            (
                f"Baseline {baseline['path']}: {baseline['matched']:,} of"
                f" {baseline['entries']:,} accepted findings still occur (not shown);"
                f" {baseline['new_findings']:,} new",
                "",
            )
        ],
        width,
    )
    stale = baseline["stale_entries"]
    if stale:
        lines += wrap(
            [
                (
                    f"{len(stale):,} baseline entries no longer occur (stale; rewrite the"
                    " baseline with --write-baseline to drop them):",
                    "yellow",
                )
            ],
            width,
        )
        for entry in stale[:STALE_SHOWN]:
            lines += wrap([(entry, "")], width, 2)
        if len(stale) > STALE_SHOWN:
            lines += wrap([(f"and {len(stale) - STALE_SHOWN:,} more", "")], width, 2)
    return lines


def render_table(
    console: Console,
    findings: pd.DataFrame,
    summary: dict[str, Any],
    places: list[str] | None = None,
) -> None:
    """Findings (sorted by claim, line, rule) grouped by claim, then the summary.

    `places` says where each flagged line is (default `row N`; an X12 line's segment and line).
    """
    width = max(console.width, MIN_WIDTH)
    styled = console.is_terminal and console.color_system is not None and not console.no_color
    emit = _emit_styled if styled else _emit_plain
    for block in finding_lines(findings, width, places):
        emit(console, block)
    emit(console, summary_lines(findings, summary, width))


def _emit_plain(console: Console, lines: list[Line]) -> None:
    console.file.write("".join("".join(t for t, _ in line) + "\n" for line in lines))


def _emit_styled(console: Console, lines: list[Line]) -> None:
    text = Text()
    for line in lines:
        for piece, style in line:
            text.append(piece, style or None)
        text.append("\n")
    console.print(text, end="", no_wrap=True, overflow="ignore", crop=False)
