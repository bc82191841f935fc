"""Golden files: every output of `check` on the bundled sample claims, byte for byte.

Run-dependent values (wall time, version, the working directory, file hashes) are replaced by
placeholders before comparing, and so is the summary's list of the rules applied (every rule of
the catalog, checked on its own below): a golden file names only the rules that have findings,
so a new rule that finds nothing on the demo changes none of them. To accept a deliberate change, regenerate with
IGRT_EDITS_UPDATE_GOLDEN=1 (see tests/golden/README.md) and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from igrt_edits import __version__
from tests.report_helpers import DEMO, REPO, run_cli

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("IGRT_EDITS_UPDATE_GOLDEN") == "1"
FINDINGS_FORMATS = {
    "table": "findings.table.txt",
    "json": "findings.json",
    "jsonl": "findings.jsonl",
    "csv": "findings.csv",
    "sarif": "findings.sarif",
    "junit": "findings.junit.xml",
    "github": "findings.github.txt",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    """Run from the repository root so input paths are the relative `sample_claims/...`."""
    monkeypatch.chdir(REPO)


def normalize(text: str) -> str:
    """Replace what differs between runs and machines with placeholders."""
    text = re.sub(r'("wall_seconds": )[0-9.]+', r"\g<1>0.0", text)
    text = re.sub(r'(<testsuites [^>]*time=")[0-9.]+(")', r"\g<1>0.0\2", text)
    text = re.sub(r'("sha256": )"[0-9a-f]{64}"', r'\1"<sha256>"', text)
    text = re.sub(r'("rules_applied": )\[[^\]]*\]', r'\1"<rules applied>"', text)
    text = text.replace(REPO.as_uri() + "/", "<repo>/")
    text = text.replace(f'"version": "{__version__}"', '"version": "<version>"')
    text = text.replace(f'"semanticVersion": "{__version__}"', '"semanticVersion": "<version>"')
    return text.replace(f'value="{__version__}"', 'value="<version>"')


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = normalize(text)
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (see tests/golden/README.md)"


@pytest.mark.parametrize("fmt", sorted(FINDINGS_FORMATS))
def test_findings_format_matches_golden(tmp_path, fmt):
    target = tmp_path / "out"
    result = run_cli([DEMO, "--format", fmt, "--output", str(target), "--quiet"])
    assert result.exit_code == 1, result.stderr
    check_golden(FINDINGS_FORMATS[fmt], target.read_text(encoding="utf-8"))


def test_table_on_stdout_matches_golden():
    """What an analyst sees (without colour, at 80 columns); the README shows the same."""
    result = run_cli([DEMO, "--quiet"])
    assert result.exit_code == 1
    check_golden(FINDINGS_FORMATS["table"], result.stdout)


def test_parquet_matches_golden(tmp_path):
    """Parquet checked through its schema and rows (the file's bytes depend on the writer)."""
    target = tmp_path / "findings.parquet"
    assert run_cli([DEMO, "-o", str(target), "-q"]).exit_code == 1
    table = pq.read_table(target)
    dump = {
        "schema": [f"{f.name}: {f.type}" for f in table.schema],
        "rows": json.loads(json.dumps(table.to_pylist(), default=str)),
    }
    check_golden("findings.parquet.json", json.dumps(dump, indent=2) + "\n")


def test_statistics_match_golden():
    result = run_cli([DEMO, "--statistics", "-q"])
    assert result.exit_code == 1
    check_golden("statistics.txt", result.stdout)


def test_batch_outputs_match_golden(tmp_path):
    """The nightly job's files: annotated lines, rejects, summary and a baseline."""
    paths = {n: tmp_path / n for n in ("annotated.csv", "rejects.csv", "summary.json", "b.txt")}
    result = run_cli(
        [
            DEMO,
            "-o",
            str(tmp_path / "findings.json"),
            "--annotated",
            str(paths["annotated.csv"]),
            "--rejects",
            str(paths["rejects.csv"]),
            "--summary",
            str(paths["summary.json"]),
            "--write-baseline",
            str(paths["b.txt"]),
            "-q",
        ]
    )
    assert result.exit_code == 1, result.stderr
    check_golden("annotated.csv", paths["annotated.csv"].read_text(encoding="utf-8"))
    check_golden("rejects.csv", paths["rejects.csv"].read_text(encoding="utf-8"))
    summary = paths["summary.json"].read_text(encoding="utf-8")
    summary = summary.replace(str(paths["b.txt"]), "<baseline>")
    check_golden("summary.json", summary)
    check_golden("baseline.txt", paths["b.txt"].read_text(encoding="utf-8"))


def test_summary_lists_every_rule_applied(tmp_path, catalog):
    """What the golden files leave out: by default, every rule of the catalog is applied."""
    target = tmp_path / "summary.json"
    run_cli([DEMO, "--summary", str(target), "-q"])
    summary = json.loads(target.read_text(encoding="utf-8"))
    assert summary["rules_applied"] == list(catalog.rules)


def test_summary_hashes_are_the_inputs_sha256(tmp_path):
    """The placeholder in the golden summary stands for the real digest of the input."""
    target = tmp_path / "summary.json"
    run_cli([DEMO, "--summary", str(target), "-q"])
    summary = json.loads(target.read_text(encoding="utf-8"))
    digest = hashlib.sha256((REPO / DEMO).read_bytes()).hexdigest()
    assert summary["files"][0]["sha256"] == digest
    assert summary["files"][0]["size_bytes"] == (REPO / DEMO).stat().st_size


def test_golden_files_hold_no_run_dependent_values():
    for path in GOLDEN.iterdir():
        text = path.read_text(encoding="utf-8")
        assert str(REPO) not in text, path.name
        assert not re.search(r'"wall_seconds": (?!0\.0\b)', text), path.name


def test_readme_table_capture_is_the_real_output():
    """The README's capture of the table view: golden lines, in order, with one '...' gap."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- table-capture")[1].split("```text\n")[1].split("```")[0]
    golden = (GOLDEN / FINDINGS_FORMATS["table"]).read_text(encoding="utf-8")
    head, tail = block.split("...\n")
    assert golden.startswith(head) and golden.endswith(tail)
