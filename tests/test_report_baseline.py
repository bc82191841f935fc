"""Baseline lifecycle: write it, an unchanged run passes, a new finding fails, a fix is stale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from igrt_edits.report.baseline import apply_baseline, baseline_text, read_baseline
from tests.report_helpers import run_cli, write_extract

# IGRT004 on C1:2 (an SBRT day) and IGRT012 on C2:1 (no delivery that day).
TODAY = (
    "C1,1,P1,1960-05-01,2025-03-03,77373,",
    "C1,2,P1,1960-05-01,2025-03-03,77014,",
    "C2,1,P2,1970-01-01,2025-03-04,77014,",
    "C2,2,P2,1970-01-01,2025-03-05,77412,",
)


def _json(result) -> dict:
    return json.loads(result.stdout)


def test_baseline_lifecycle(tmp_path):
    source = write_extract(tmp_path / "claims.csv", TODAY)
    baseline = tmp_path / "baseline.txt"

    # 1. Record today's findings.
    first = run_cli([str(source), "--write-baseline", str(baseline), "--format", "json"])
    assert first.exit_code == 1  # writing a baseline does not hide today's findings
    recorded = [f["fingerprint"] for f in _json(first)["findings"]]
    assert len(recorded) == 2
    entries = [ln for ln in baseline.read_text(encoding="utf-8").splitlines() if ln[:1] != "#"]
    assert [ln.split()[0] for ln in entries] == recorded
    assert "wrote baseline" in first.stderr

    # 2. The same extract again: nothing new, exit 0, nothing stale.
    same = run_cli([str(source), "--baseline", str(baseline), "--format", "json"])
    assert same.exit_code == 0
    assert _json(same)["findings"] == []
    assert _json(same)["summary"]["baseline"] == {
        "path": str(baseline),
        "entries": 2,
        "matched": 2,
        "new_findings": 0,
        "stale": 0,
        "stale_entries": [],
        "not_checked": 0,
    }

    # 3. A new problem appears (IGRT005 on a new day): only it is reported, and it fails.
    grown = [
        *TODAY,
        "C3,1,P1,1960-05-01,2025-03-10,77412,",
        "C3,2,P1,1960-05-01,2025-03-10,77014,",
        "C3,3,P1,1960-05-01,2025-03-10,G6002,",
    ]
    write_extract(source, grown)
    new = run_cli([str(source), "--baseline", str(baseline), "--format", "json"])
    assert new.exit_code == 1
    assert {(f["claim_id"], f["rule_id"]) for f in _json(new)["findings"]} == {("C3", "IGRT005")}

    # 4. The SBRT-day problem is fixed (the IGRT line removed): its entry is stale.
    fixed = [TODAY[0], *TODAY[2:]]
    write_extract(source, fixed)
    stale = run_cli([str(source), "--baseline", str(baseline), "--format", "json"])
    assert stale.exit_code == 0
    report = _json(stale)["summary"]["baseline"]
    assert report["stale"] == 1 and report["matched"] == 1
    assert report["stale_entries"][0].split()[:2] == [recorded[0], "IGRT004"]
    assert "no longer occur (stale)" in stale.stderr and "C1:2" in stale.stderr

    # The table view lists stale entries in its summary.
    table = run_cli([str(source), "--baseline", str(baseline)])
    assert "baseline entries no longer occur" in table.stdout
    assert "C1:2" in table.stdout


def test_entries_outside_the_run_are_not_stale(tmp_path):
    """A narrower run (other rules, other claims) cannot show an entry was fixed."""
    source = write_extract(tmp_path / "claims.csv", TODAY)
    baseline = tmp_path / "baseline.txt"
    run_cli([str(source), "--write-baseline", str(baseline), "-q"])
    narrow = run_cli(
        [str(source), "--baseline", str(baseline), "--select", "IGRT012", "--format", "json"]
    )
    report = _json(narrow)["summary"]["baseline"]
    assert report["stale"] == 0 and report["not_checked"] == 1 and report["matched"] == 1
    only_c2 = write_extract(tmp_path / "c2.csv", TODAY[2:])
    other = run_cli([str(only_c2), "--baseline", str(baseline), "--format", "json"])
    report = _json(other)["summary"]["baseline"]
    assert report["stale"] == 0 and report["not_checked"] == 1


def test_baseline_file_is_sorted_readable_and_stable(tmp_path):
    source = write_extract(tmp_path / "claims.csv", TODAY)
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    run_cli([str(source), "--write-baseline", str(one), "-q"])
    write_extract(source, list(reversed(TODAY)))  # same lines, another order
    run_cli([str(source), "--write-baseline", str(two), "-q"])
    assert one.read_bytes() == two.read_bytes()
    lines = one.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# igrt-edits baseline v1"
    body = [ln.split() for ln in lines if not ln.startswith("#")]
    assert [b[1:] for b in body] == [
        ["IGRT004", "2025-03-03", "77014", "C1:2"],
        ["IGRT012", "2025-03-04", "77014", "C2:1"],
    ]


def test_claim_ids_with_spaces_colons_and_tabs_round_trip(tmp_path):
    findings = pd.DataFrame(
        {
            "fingerprint": ["0123456789abcdef", "fedcba9876543210"],
            "rule_id": ["IGRT004", "IGRT012"],
            "service_date": ["2025-03-03", "2025-03-04"],
            "procedure_code": ["77014", "77014"],
            "claim_id": ["A 1:x", "tab\there\\"],
            "line_number": [2, 11],
        }
    )
    path = tmp_path / "b.txt"
    path.write_text(baseline_text(findings), encoding="utf-8")
    parsed = read_baseline(path)
    assert parsed.entries["claim_id"].tolist() == ["A 1:x", "tab\there\\"]
    outcome = apply_baseline(
        findings.iloc[:1], parsed, {"IGRT004", "IGRT012"}, np.array(["A 1:x", "tab\there\\"])
    )
    assert outcome.new.empty and outcome.matched == 1 and len(outcome.stale) == 1
