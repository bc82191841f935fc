"""The exit status: threshold x severity x --exit-zero x baseline, and the failures that are 2."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from igrt_edits.contract import SEVERITY_RANK
from igrt_edits.report import outputs
from igrt_edits.report.gate import exit_status
from tests.report_helpers import SMALL_ROWS, run_cli, write_extract

THRESHOLDS = ("error", "warning", "info", "never")
SEVERITIES = (None, "info", "warning", "error")  # None: a run without findings


def expected_status(threshold: str, severity: str | None, exit_zero: bool, baselined: bool):
    if exit_zero or severity is None or baselined or threshold == "never":
        return 0
    return 1 if SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold] else 0


@pytest.fixture(scope="module")
def extracts(tmp_path_factory):
    """A file whose only finding is IGRT004 (its severity set per case), and a clean file."""
    root = tmp_path_factory.mktemp("exit")
    flagged = write_extract(root / "flagged.csv", SMALL_ROWS[:2])
    clean = write_extract(root / "clean.csv", ["C1,1,P1,1960-05-01,2025-03-03,77373,"])
    configs = {}
    for severity in ("info", "warning", "error"):
        config = root / f"{severity}.toml"
        config.write_text(
            f'[rules]\nselect = ["IGRT004"]\nseverity = {{ IGRT004 = "{severity}" }}\n',
            encoding="utf-8",
        )
        configs[severity] = config
    baseline = root / "baseline.txt"
    result = run_cli([str(flagged), "--write-baseline", str(baseline), "-q", "--exit-zero"])
    assert result.exit_code == 0 and "IGRT004" in baseline.read_text(encoding="utf-8")
    return {"flagged": flagged, "clean": clean, "configs": configs, "baseline": baseline}


MATRIX = list(itertools.product(THRESHOLDS, SEVERITIES, (False, True), (False, True)))


@pytest.mark.parametrize(("threshold", "severity", "exit_zero", "baselined"), MATRIX)
def test_exit_status_matrix(extracts, threshold, severity, exit_zero, baselined):
    source = extracts["flagged"] if severity else extracts["clean"]
    config = extracts["configs"][severity or "error"]
    args = [str(source), "--config", str(config), "--fail-on", threshold, "--format", "json"]
    args += ["--exit-zero"] * exit_zero
    args += ["--baseline", str(extracts["baseline"])] * baselined
    result = run_cli(args)
    assert result.exit_code == expected_status(threshold, severity, exit_zero, baselined)
    reported = json.loads(result.stdout)["findings"]
    assert len(reported) == (1 if severity and not baselined else 0)


@pytest.mark.parametrize(
    ("threshold", "exit_zero"), list(itertools.product(THRESHOLDS, (False, True)))
)
def test_gate_follows_the_worst_reported_severity(threshold, exit_zero):
    for present in itertools.chain.from_iterable(
        itertools.combinations(("info", "warning", "error"), n) for n in range(4)
    ):
        findings = pd.DataFrame({"severity": list(present)})
        worst = max(present, key=SEVERITY_RANK.__getitem__) if present else None
        assert exit_status(findings, threshold, exit_zero=exit_zero) == expected_status(
            threshold, worst, exit_zero, False
        )


def test_a_new_finding_beyond_the_baseline_fails(extracts, tmp_path):
    """Only findings missing from the baseline count toward the exit status."""
    grown = write_extract(
        tmp_path / "grown.csv",
        [
            *SMALL_ROWS[:2],
            "C5,1,P5,1960-05-01,2025-03-09,77372,",
            "C5,2,P5,1960-05-01,2025-03-09,G6002,",
        ],
    )
    result = run_cli([str(grown), "--baseline", str(extracts["baseline"]), "--format", "json"])
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["claim_id"], f["rule_id"]) for f in findings] == [("C5", "IGRT004")]


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "sarif", "--statistics"],
        ["--annotated", "lines.json"],
        ["--baseline", "missing-baseline.txt"],
        ["--output", "no/such/dir/out.json"],
        ["--redact"],
        ["--fail-on", "fatal"],
    ],
    ids=[
        "statistics-format",
        "annotated-suffix",
        "baseline-missing",
        "output-dir",
        "redact-key",
        "fail-on",
    ],
)
def test_bad_options_exit_2_before_writing(extracts, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IGRT_EDITS_REDACT_KEY", raising=False)
    result = run_cli([str(extracts["flagged"]), *args, "--summary", "summary.json", "--exit-zero"])
    assert result.exit_code == 2
    assert not (tmp_path / "summary.json").exists()
    assert result.stderr.strip()


def test_malformed_baseline_names_file_and_line(extracts, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# comment\n\nnot-a-fingerprint IGRT004\n", encoding="utf-8")
    result = run_cli([str(extracts["flagged"]), "--baseline", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3:" in result.stderr


def test_reject_rate_over_limit_is_2_even_with_exit_zero(tmp_path):
    source = write_extract(tmp_path / "bad.csv", SMALL_ROWS)
    result = run_cli([str(source), "--max-reject-rate", "0.01", "--exit-zero"])
    assert result.exit_code == 2


def test_an_output_that_cannot_be_written_is_2(extracts, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "f.json"))

    monkeypatch.setattr(outputs, "atomic_text", full)
    result = run_cli([str(extracts["flagged"]), "-o", str(tmp_path / "f.json")])
    assert result.exit_code == 2
    assert "f.json: No space left on device" in result.stderr
