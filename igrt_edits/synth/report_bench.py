"""`igrt-edits bench --reports`: what writing the workbook and the HTML report costs.

A run with a million findings needs an extract of tens of millions of lines; the reporters'
cost does not depend on where findings came from, so the findings are the demo's, repeated
with claim ids made distinct, up to the count asked for. Each report is written by a child
process of its own, which prints the seconds the write took and its peak memory before and
after: the difference is what the writer adds to holding the findings.

    python -m igrt_edits.synth.report_bench COUNT FORMAT OUTPUT
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_DEMO = Path(__file__).resolve().parents[2] / "sample_claims" / "radonc_demo.csv"
FORMATS = ("xlsx", "html")


def many_findings(count: int):
    """The demo's report data with its findings repeated to `count` (claim ids numbered)."""
    import numpy as np

    from igrt_edits.config import Config
    from igrt_edits.report.digest import ReportData
    from igrt_edits.report.summary import build_summary
    from igrt_edits.rules.findings import order_findings
    from igrt_edits.run.check import run_check

    catalog, ruleset, result = run_check([str(REPO_DEMO)], Config(), line_details=True)
    base = order_findings(result.findings)
    at = np.arange(count) % len(base)
    findings = base.iloc[at].reset_index(drop=True)
    copy = (np.arange(count) // len(base)).astype(str)
    findings["claim_id"] = findings["claim_id"].astype(str).to_numpy() + "-" + copy
    summary = build_summary(result, catalog, ruleset, findings)
    return ReportData(findings, summary, result.rejects, catalog, ruleset)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process (user + system): steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(count: int, fmt: str, output: str) -> dict:
    """Build the findings, write one report, and measure the write."""
    from igrt_edits.report.outputs import write_report

    data = many_findings(count)
    held = peak_mb()
    started, cpu = time.perf_counter(), cpu_seconds()
    write_report(output, fmt, data)
    return {
        "format": fmt,
        "findings": count,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(cpu_seconds() - cpu, 2),
        "peak_mb_holding_findings": round(held),
        "peak_mb_after_writing": round(peak_mb()),
        "file_mb": round(Path(output).stat().st_size / 1e6, 2),
    }


def bench_reports(
    count: int, echo: Callable[[str], None], formats: tuple[str, ...] = FORMATS
) -> list[str]:
    """Write each report of `count` findings in a child process; the report lines."""
    lines = [
        f"igrt-edits bench --reports: {count:,} findings (the demo's, repeated);"
        f" Python {sys.version.split()[0]}",
        "",
        f"{'report':8} {'write s':>9} {'cpu s':>9} {'peak MB holding findings':>26}"
        f" {'peak MB after':>14} {'file MB':>9}",
    ]
    with tempfile.TemporaryDirectory(prefix="igrt-edits-bench-") as scratch:
        for fmt in formats:
            echo(f"writing the {fmt} report of {count:,} findings ...")
            output = str(Path(scratch) / f"report.{fmt}")
            command = [sys.executable, "-m", "igrt_edits.synth.report_bench", str(count), fmt]
            done = subprocess.run([*command, output], capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-500:]}")
            got = json.loads(done.stdout)
            lines.append(
                f"{fmt:8} {got['seconds']:>9.1f} {got['cpu_seconds']:>9.1f}"
                f" {got['peak_mb_holding_findings']:>26,}"
                f" {got['peak_mb_after_writing']:>14,} {got['file_mb']:>9,.1f}"
            )
    return lines


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]), sys.argv[2], sys.argv[3])))
