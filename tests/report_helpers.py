"""Helpers for the reporter tests: run `igrt-edits check` in-process and small extracts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from igrt_edits.cli import main
from igrt_edits.config import Config
from igrt_edits.report.digest import ReportData
from igrt_edits.report.summary import build_summary
from igrt_edits.rules.findings import order_findings
from igrt_edits.run.check import run_check

REPO = Path(__file__).resolve().parent.parent
DEMO = "sample_claims/radonc_demo.csv"
REDACT_KEY = {"IGRT_EDITS_REDACT_KEY": "test-key"}
HEADER = "claim_id,line_number,patient_id,patient_birth_date,service_date,procedure_code,modifiers"


def run_cli(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """`igrt-edits check ARGS` with stdout and stderr kept apart, 80 columns, no colour."""
    runner = CliRunner()
    environment = {"COLUMNS": "80", "NO_COLOR": None, "TERM": "dumb", **(env or {})}
    return runner.invoke(main, ["check", *args], env=environment, catch_exceptions=False)


def write_extract(path: Path, rows: Sequence[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# One patient-day with SBRT and IGRT (IGRT004, an error), one IGRT line without any delivery
# (IGRT012, a warning), a pediatric line (out of scope) and a row with an impossible date.
SMALL_ROWS = (
    "C1,1,P1,1960-05-01,2025-03-03,77373,",
    "C1,2,P1,1960-05-01,2025-03-03,77014,",
    "C2,1,P2,1970-01-01,2025-03-04,77014,",
    "C3,1,P3,2015-01-01,2025-03-03,77014,",
    "C4,1,P4,1980-01-01,2025-02-30,77014,",
)


def demo_report_data() -> ReportData:
    """The demo's run as the analyst reports receive it (no baseline, not redacted)."""
    catalog, ruleset, result = run_check([str(REPO / DEMO)], Config(), line_details=True)
    findings = order_findings(result.findings)
    summary = build_summary(result, catalog, ruleset, findings)
    return ReportData(findings, summary, result.rejects, catalog, ruleset)
