"""The HTML report (`--format html`, `--html FILE`): self-contained, complete, safe."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from report_helpers import DEMO, HEADER, REDACT_KEY, REPO, demo_report_data, run_cli, write_extract

from igrt_edits.report import html


class Page(HTMLParser):
    """Every tag with its attributes, the embedded findings, and the text of the page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: dict | None = None
        self.text: list[str] = []
        self._in_data = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._in_data = tag == "script" and attributes.get("id") == "findings-data"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.data = json.loads(data)
        else:
            self.text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}

    def rows(self) -> list[dict]:
        keys = [c["key"] for c in self.data["columns"]]
        return [dict(zip(keys, row, strict=True)) for row in self.data["rows"]]


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    path, report = folder / "demo.html", folder / "demo.json"
    result = run_cli([str(REPO / DEMO), "--format", "html", "-o", str(path)])
    assert result.exit_code == 1, result.output
    assert run_cli([str(REPO / DEMO), "-o", str(report), "--exit-zero"]).exit_code == 0
    return path.read_text(encoding="utf-8"), json.loads(report.read_text())


def test_page_loads_nothing(demo_page):
    text, _ = demo_page
    page = Page(text)
    policy = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy and "default-src 'none'" in policy[0]
    for tag, attributes in page.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert "src" not in attributes, tag
        href = attributes.get("href")
        assert href is None or href.startswith("#"), href
    assert not re.search(r"url\(", text)
    assert "http://" not in text and "https://" not in text


def test_table_embeds_every_demo_finding(demo_page):
    text, report = demo_page
    rows = Page(text).rows()
    findings = report["findings"]
    assert len(rows) == len(findings)
    for row, finding in zip(rows, findings, strict=True):
        for key in ("claim_id", "line_number", "rule_id", "severity", "message", "service_date"):
            assert row[key] == finding[key]
        assert row["source"] == f"{finding['source_file']}:{finding['source_row']}"
        assert row["related_lines"] == "; ".join(finding["related_lines"])


def test_headline_charts_and_rule_explanations(demo_page, catalog):
    text, report = demo_page
    page = Page(text)
    summary = report["summary"]
    assert {"headline", "charts", "chart-rules", "chart-months", "chart-providers"} <= page.ids()
    words = " ".join(" ".join(page.text).split())
    assert f"{summary['findings']} Findings" in words
    assert f"{summary['rows_read']} Rows read" in words
    for rule_id, count in summary["findings_by_rule"].items():
        assert f"rule-{rule_id}" in page.ids()
        rule = catalog.rules[rule_id]
        assert " ".join(rule.explanation.fix.split()) in words
        assert f"{rule_id} {rule.name}: {count} {rule.severity}" in words  # a bar's tooltip
    months = {f["service_date"][:7] for f in report["findings"]}
    svg_labels = re.findall(r'text-anchor="middle">(\d{4}-\d{2})</text>', text)
    assert set(svg_labels) <= months and svg_labels
    assert len([t for t, _ in page.tags if t == "svg"]) >= 2


def test_worst_patient_days_come_first(demo_page):
    text, report = demo_page
    section = text[text.index('id="worst-days"') : text.index('id="findings"')]
    counts = pd.DataFrame(report["findings"]).groupby(["patient_id", "service_date"]).size()
    first_row = section[section.index("<tbody>") :]
    # Several days may share the top count (ties go by errors, then charges): any of them.
    top = [(p, d) for (p, d), n in counts.items() if n == counts.max()]
    assert any(first_row.startswith(f"<tbody><tr><td>{p}</td><td>{d}</td>") for p, d in top)


def test_beyond_the_limit_the_table_holds_the_top_findings():
    data = demo_report_data()
    page = Page(html.build_html(data, limit=5))
    rows = page.rows()
    assert len(rows) == 5
    assert all(r["severity"] == "error" for r in rows)  # the demo has 19 errors
    words = " ".join(" ".join(page.text).split())
    total = len(data.findings)
    assert f"holds the top 5 of {total} findings" in words and f"{total - 5} more" in words
    # the charts still count every finding
    assert "IGRT005 igrt-multiple-methods-per-day: 4 error" in html.build_html(data, limit=5)


def test_redacted_report_has_no_patient_ids(tmp_path):
    path = tmp_path / "redacted.html"
    result = run_cli([str(REPO / DEMO), "-o", str(path), "--redact"], env=REDACT_KEY)
    assert result.exit_code == 1
    text = path.read_text(encoding="utf-8")
    for patient in set(pd.read_csv(REPO / DEMO, dtype=str)["patient_id"]):
        assert patient not in text
    rows = Page(text).rows()
    assert rows and all(r["patient_id"].startswith("R-") for r in rows)
    assert "patient ids redacted" in text


def test_values_from_the_extract_cannot_break_out(tmp_path):
    hostile = "</script><script>alert(1)</script><!--"
    rows = [
        f'"{hostile}",1,P1,1960-05-01,2025-03-03,77373,',
        f'"{hostile}",2,P1,1960-05-01,2025-03-03,77014,',
    ]
    extract = write_extract(tmp_path / "hostile.csv", rows, HEADER)
    path = tmp_path / "hostile.html"
    assert run_cli([str(extract), "-o", str(path)]).exit_code == 1
    text = path.read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<!--" not in text
    assert text.count("</script>") == 2  # the data block's and the table script's own
    assert Page(text).rows()[0]["claim_id"] == hostile


def test_html_to_stdout_and_beside_other_outputs(tmp_path):
    path = tmp_path / "beside.html"
    result = run_cli([str(REPO / DEMO), "--format", "json", "--html", str(path)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["findings"] == len(Page(path.read_text()).rows())
    printed = run_cli([str(REPO / DEMO), "--format", "html"])
    assert printed.stdout.startswith("<!DOCTYPE html>")
    assert len(Page(printed.stdout).rows()) == len(Page(path.read_text()).rows())


def test_empty_run_writes_a_page(tmp_path):
    extract = write_extract(tmp_path / "empty.csv", [])
    path = tmp_path / "empty.html"
    assert run_cli([str(extract), "-o", str(path)]).exit_code == 0
    page = Page(path.read_text(encoding="utf-8"))
    assert page.rows() == []
    assert "No findings to chart." in " ".join(page.text)
