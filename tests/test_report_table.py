"""The terminal view: readable at 80 columns, coloured only on a terminal, never with NO_COLOR."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from rich.console import Console

from igrt_edits.config import Config
from igrt_edits.report.summary import build_summary
from igrt_edits.report.table import make_console, render_table, wrap
from igrt_edits.rules.findings import order_findings
from igrt_edits.run.check import run_check
from tests.report_helpers import DEMO, REPO, run_cli, write_extract

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def demo(catalog):
    _, ruleset, result = run_check([str(REPO / DEMO)], Config(), catalog)
    return order_findings(result.findings), build_summary(result, catalog, ruleset)


def _render(findings, summary, **console_options) -> str:
    out = io.StringIO()
    console = Console(file=out, highlight=False, **console_options)
    render_table(console, findings, summary)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 60])
def test_no_line_is_wider_than_the_console(demo, width):
    text = _render(*demo, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert not any(line.endswith(" ") for line in text.splitlines())


def test_long_names_and_words_still_fit(demo):
    findings, summary = demo
    long = findings.copy()
    long["claim_id"] = "CLAIM-" + "X" * 90
    long["source_file"] = "/very/long/path/" + "d" * 70 + "/extract.csv"
    text = _render(order_findings(long), summary, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_every_finding_is_shown_with_its_message_and_related_lines(demo):
    findings, summary = demo
    text = " ".join(_render(findings, summary, width=80).split())
    for row in findings.itertuples():
        assert f"{row.severity} {row.rule_id} {row.rule_name}" in text
        assert " ".join(row.message.split()) in text
        if len(row.related_lines):
            assert "related: " + ", ".join(row.related_lines[:8]) in text
    assert "26 findings: 21 errors, 5 warnings, 0 info, on 25 lines" in text
    assert "Rows: 436 read, 382 checked, 0 rejected, 54 out of scope" in text
    assert "Checked 56 claims of 8 patients" in text
    assert "Charges on flagged lines: 9,327.00" in text
    for rule_id, count in summary["findings_by_rule"].items():
        assert re.search(rf"{rule_id}\s+\S+\s+(error|warning|info)\s+{count}\b", text)


def test_colour_on_a_terminal_only(demo, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = _render(*demo, width=80, force_terminal=True, color_system="standard")
    assert ANSI.search(coloured)
    assert "\x1b[1;31m" in coloured  # errors in bold red
    assert ANSI.sub("", coloured) == _render(*demo, width=80)  # same text, only coloured
    plain = make_console(io.StringIO())
    assert not plain.is_terminal  # a file or a pipe: the plain path


def test_no_colour_with_no_color(demo, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text = _render(*demo, width=80, force_terminal=True, color_system="standard")
    assert not ANSI.search(text)


def test_cli_output_to_a_pipe_has_no_colour():
    result = run_cli([str(REPO / DEMO), "-q"], env={"NO_COLOR": None})
    assert result.stdout and not ANSI.search(result.stdout)


def test_empty_run_says_so(tmp_path):
    source = write_extract(tmp_path / "clean.csv", ["C1,1,P1,1960-05-01,2025-03-03,77290,"])
    result = run_cli([str(source)])
    assert result.exit_code == 0
    assert result.stdout.startswith("No findings.")


def test_claims_spanning_files_show_each_line_file(tmp_path):
    """Two IGRT methods on one day (IGRT005 flags both), the lines in two files."""
    first = write_extract(
        tmp_path / "a.csv",
        ["C1,1,P1,1960-05-01,2025-03-03,77412,", "C1,2,P1,1960-05-01,2025-03-03,77014,"],
    )
    second = write_extract(tmp_path / "b.csv", ["C1,3,P1,1960-05-01,2025-03-03,G6002,"])
    text = " ".join(run_cli([str(first), str(second)]).stdout.split())
    assert text.startswith("Claim C1 patient P1 line 2")
    assert f"({first} row 3)" in text and f"({second} row 2)" in text


def test_wrap_keeps_styles_and_indent():
    pieces = [("error  ", "red"), ("IGRT004 " * 12, "")]
    lines = wrap(pieces, 40, indent=4)
    assert all(sum(len(t) for t, _ in line) <= 40 for line in lines)
    assert lines[0][0] == ("    ", "") and lines[0][1] == ("error", "red")
    assert all(line[0] == ("    ", "") for line in lines)
    assert wrap([("x" * 100, "")], 30)[0] == [("x" * 30, "")]
    assert (
        pd.Series([len("".join(t for t, _ in ln)) for ln in wrap([("y" * 100, "")], 30)]).max()
        == 30
    )
